// HTTP/1.1 on a Connection, parsed with Debian's libhttp-parser (the one HTTP
// layer for everything: server API, health, WebSocket upgrades). Keep-alive,
// pipelining (requests answered strictly in order, one at a time), limits on
// head (431) and body (413) size, 400 on malformed input.
#pragma once

#include <http_parser.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.h"
#include "loop.h"

namespace gyre {

struct HttpRequest {
  std::string method;
  std::string path;                                          // percent-decoding is left to handlers
  std::string query;                                         // without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  bool keep_alive = true;
  bool upgrade = false;
  int http_minor = 1;

  // First header with this lower-case name, or empty.
  std::string_view header(std::string_view lname) const;
  bool has_header(std::string_view lname) const;
  // Decoded query parameter, or nullopt-like empty + found=false.
  bool query_param(std::string_view name, std::string &out) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  static HttpResponse json(std::string body, int status = 200);
  static HttpResponse text(int status, std::string body);
  static HttpResponse empty(int status);
};

class HttpSession;

// Handed to a request handler; answer exactly once, now or later. Safe to
// use after the connection died (the answer is dropped).
class HttpResponder {
 public:
  HttpResponder() = default;
  // A responder usable on another loop's thread: send() posts the answer
  // to `origin`, the loop that owns the connection. take_over() fails on it.
  static HttpResponder relayed(Loop &origin, HttpResponder inner);
  void send(HttpResponse resp) const;
  // Replaces HTTP on this connection with another protocol handler (e.g.
  // WebSocket after a 101). `handshake` bytes are written first.
  Connection *take_over(std::string_view handshake, std::unique_ptr<ConnectionHandler> next) const;
  // Whether take_over() would succeed now (a local, live connection).
  bool can_take_over() const { return !relay_ && !session_.expired(); }
  // After this request is answered, if the connection is idle (nothing
  // unread, nothing unsent), hand its socket to `adopt` instead of reading
  // on: the server API moves keep-alive API connections to the node loop.
  void move_when_idle(std::function<void(int fd)> adopt) const;

 private:
  friend class HttpSession;
  std::weak_ptr<HttpSession *> session_;
  std::shared_ptr<const std::function<void(HttpResponse)>> relay_;
};

using HttpHandler = std::function<void(HttpRequest &, HttpResponder)>;

struct HttpLimits {
  size_t max_header_size = 16384;
  size_t max_body_size = 10 * 1024 * 1024;
  int64_t header_timeout_ms = 10000;  // first byte to end of head
  int64_t idle_timeout_ms = 60000;    // keep-alive idle
};

class HttpSession : public ConnectionHandler {
 public:
  HttpSession(Loop &loop, Connection &conn, const HttpLimits &limits, const HttpHandler &handler);
  ~HttpSession() override;
  void on_data(Connection &conn) override;
  void on_close(Connection &conn) override;

 private:
  friend class HttpResponder;
  static int on_message_begin(http_parser *);
  static int on_url(http_parser *, const char *, size_t);
  static int on_header_field(http_parser *, const char *, size_t);
  static int on_header_value(http_parser *, const char *, size_t);
  static int on_headers_complete(http_parser *);
  static int on_body(http_parser *, const char *, size_t);
  static int on_message_complete(http_parser *);
  static const http_parser_settings &settings();
  void respond(HttpResponse resp);
  void fail(int status);
  bool count_head(size_t n);
  void arm_timer();

  Loop &loop_;
  Connection &conn_;
  const HttpLimits &limits_;
  const HttpHandler &handler_;
  http_parser parser_;
  HttpRequest req_;
  std::string url_;
  bool in_value_ = false;
  size_t head_bytes_ = 0;
  int error_status_ = 0;
  bool ready_ = false;
  bool waiting_ = false;
  bool upgraded_ = false;
  bool in_on_data_ = false;
  bool paused_for_answer_ = false;
  WheelTimer timer_;                  // header/idle deadline (coarse: a wheel, not an event)
  std::function<void(int)> move_to_;  // see HttpResponder::move_when_idle
  std::shared_ptr<HttpSession *> self_;
};

const char *http_status_text(int status);

}  // namespace gyre

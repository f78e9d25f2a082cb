// Streams of transport plugins (gyre_transport_ops): a request on a route a
// plugin claimed is answered plainly or becomes a client session, carried
// by a streaming HTTP response (HttpStreamSession here) or by a WebSocket
// (WebSocketSession with a StreamBinding). The host runs the session; the
// plugin feeds it commands and says how each message looks on the wire.
//
// Threads: everything here runs on the stream's worker, except encode,
// which the plugin must make safe on any worker (see the header).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "client.h"
#include "codes.h"
#include "connection.h"
#include "gyre/plugin.h"
#include "http.h"
#include "transport.h"

namespace gyre {

class Plugin;
class Worker;
class StreamBinding;

}  // namespace gyre

// The host's definition of the opaque stream handle. Shared: the request
// handler holds it while on_request runs, the session's binding while the
// stream is open, so neither can free it under the other.
struct gyre_stream {
  enum class Phase { Request, Open, Closed };
  gyre::Plugin *plugin = nullptr;
  gyre::Worker *worker = nullptr;
  void *state = nullptr;  // the plugin's stream state
  Phase phase = Phase::Request;
  int in_hook = 0;
  bool responded = false;  // http_respond or stream_open happened
  // While on_request runs.
  gyre::HttpRequest *req = nullptr;
  gyre::HttpResponder *resp = nullptr;
  std::weak_ptr<gyre_stream> self;
  // Once open.
  gyre::StreamBinding *binding = nullptr;
};

namespace gyre {

// Where stream_write's raw bytes go: the session carrying the stream.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void write_raw(std::string_view bytes) = 0;
};

// The plugin side of one open stream, shared by both kinds of session:
// encoding (with the shared frame cache), the unidirectional push form,
// the disconnect push, and on_close exactly once (never inside one of the
// stream's own hooks).
class StreamBinding {
 public:
  StreamBinding(std::shared_ptr<gyre_stream> stream, const gyre_stream_options &opts,
                std::string session_id, HeaderList request_headers);
  ~StreamBinding();
  StreamBinding(const StreamBinding &) = delete;
  StreamBinding &operator=(const StreamBinding &) = delete;

  gyre_stream &stream() { return *stream_; }
  const std::string &transport() const { return transport_; }
  uint32_t flags() const { return flags_; }
  const std::string &session_id() const { return session_; }
  HeaderList *request_headers() { return headers_ ? &*headers_ : nullptr; }
  void drop_request_headers() { headers_.reset(); }
  void set_session(Client *client, StreamSink *sink) {
    client_ = client;
    sink_ = sink;
  }
  Client *client() const { return client_; }
  StreamSink *sink() const { return sink_; }

  // What a session message becomes on the wire (bare on unidirectional
  // streams, then the plugin's encode). False when encode failed.
  bool encode(std::string_view json, std::string &out);
  // A push's bytes in wire form `form`, built once per plugin, framing and
  // form, and kept in the push for every other stream alike. `wrap` turns
  // encoded bytes into a frame (a chunk, a WebSocket frame). nullptr when
  // encode failed.
  Frame *shared_frame(SharedPush &push, uint32_t form, Frame *(*wrap)(std::string_view));
  // The disconnect push a stream writes before it ends, when its flags ask.
  std::string disconnect_message(const Disconnect &d) const;
  // A WebSocket message from the peer: on_message, or the default.
  void message(std::string_view data, bool binary);
  // The session ended: on_close now, or once the running hook returned.
  void ended(const Disconnect &d);
  // Bracket a call into one of this stream's hooks.
  void enter() { ++stream_->in_hook; }
  void leave();
  // The session carrying the stream exists: the stream is open (from now
  // on on_close will come). Last step of stream_open; cannot fail.
  void activate();

 private:
  void call_on_close();
  std::shared_ptr<gyre_stream> stream_;
  const gyre_transport_ops *ops_;
  std::string transport_;
  uint32_t flags_;
  uint32_t framing_;
  std::string session_;
  std::unique_ptr<HeaderList> headers_;
  Client *client_ = nullptr;
  StreamSink *sink_ = nullptr;
  bool ended_ = false;
  bool close_due_ = false;
  uint32_t close_code_ = 0;
  std::string close_reason_;
};

// Answers a request on a route `plugin` claimed (Node::route).
void serve_plugin_route(Worker &worker, Plugin &plugin, HttpRequest &req, HttpResponder resp);

// The host API's stream calls (see gyre_host_api).
struct stream_thunks {
  static gyre_status http_respond(gyre_stream *s, int status, const gyre_header *headers,
                                  size_t num_headers, gyre_str body);
  static gyre_status open(gyre_stream *s, const gyre_stream_options *opts);
  static gyre_status write(gyre_stream *s, gyre_str bytes);
  static gyre_status deliver(gyre_stream *s, gyre_str data);
  static void close(gyre_stream *s, uint32_t code, gyre_str reason);
  static gyre_status buffer_append(gyre_buffer *buf, gyre_str bytes);
};

}  // namespace gyre

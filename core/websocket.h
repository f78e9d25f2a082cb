// WebSocket transport: the RFC 6455 handshake, wslay for reading (framing,
// fragments, control frames, the inbound size limit -> close 1009), and
// frames we build ourselves for writing so a publication's frame is shared
// by every subscriber.
#pragma once

#include <wslay/wslay.h>

#include <memory>

#include "client.h"
#include "connection.h"
#include "http.h"
#include "plugin_stream.h"
#include "transport.h"
#include "ws_context_pool.h"

namespace gyre {

class Worker;

// The built-in transport at websocket.handler_prefix, and the WebSocket
// streams of transport plugins (bound to a StreamBinding: messages from the
// peer go to the plugin, messages to it through the plugin's encode).
class WebSocketSession : public ConnectionHandler, public Transport, public StreamSink {
 public:
  // Validates the upgrade request; answers it with 101 and takes over the
  // connection, or with an HTTP error.
  static void upgrade(Worker &worker, HttpRequest &req, HttpResponder &resp);
  // The checks of an upgrade: on success the 101 answer (with extra header
  // lines) in `out`; otherwise the HTTP error is sent and false returned.
  static bool handshake(const HttpRequest &req, HttpResponder &resp, std::string_view extra,
                        std::string &out);
  // A plugin stream's WebSocket: writes the 101, takes over the connection.
  static void start_bound(Worker &worker, HttpResponder &resp, std::string_view handshake,
                          std::unique_ptr<StreamBinding> binding);

  explicit WebSocketSession(Worker &worker, std::unique_ptr<StreamBinding> binding = nullptr);
  // The wslay callbacks; `user` is the WsContext lent to a session.
  static const wslay_event_callbacks &callbacks();
  ~WebSocketSession() override;

  // ConnectionHandler
  void on_data(Connection &conn) override;
  void on_close(Connection &conn) override;

  // Transport
  std::string_view name() const override {
    return binding_ ? std::string_view(binding_->transport()) : "websocket";
  }
  void write(std::string_view json) override;
  void write_shared(SharedPush &push) override;
  size_t queued_bytes() const override;
  void flush() override;
  void close(Disconnect d) override;
  uint32_t stream_flags() const override { return binding_ ? binding_->flags() : 0; }
  std::string_view session_id() const override {
    return binding_ ? std::string_view(binding_->session_id()) : std::string_view();
  }
  const HeaderList *request_headers() const override;
  void drop_request_headers() override;
  bool send_liveness_ping() override;

  // StreamSink
  void write_raw(std::string_view bytes) override;

 private:
  static ssize_t recv_cb(wslay_event_context_ptr, uint8_t *buf, size_t len, int flags, void *user);
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t *data, size_t len, int flags,
                         void *user);
  static int genmask_cb(wslay_event_context_ptr, uint8_t *buf, size_t len, void *user);
  static void on_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg *arg,
                        void *user);
  void pump_control();
  void begin_close();
  void send_text(std::string_view payload);
  void peer_closed();
  // Borrows a wslay context for as long as parsing needs one.
  bool lease();
  void give_back();

  Worker &worker_;
  Connection *conn_ = nullptr;
  WsContext *wc_ = nullptr;  // lent by the worker's pool, usually only briefly
  std::shared_ptr<Client> client_;
  std::unique_ptr<StreamBinding> binding_;
  // The upgrade request's headers, kept for auth plugins until the connect
  // is decided (only when auth plugins are loaded).
  std::unique_ptr<HeaderList> headers_;
  size_t feed_pos_ = 0;  // wslay reads input()[feed_pos_, feed_end_)
  size_t feed_end_ = 0;
  bool fragmented_ = false;  // a fragmented message is open: keep wc_
  bool closing_ = false;
};

}  // namespace gyre

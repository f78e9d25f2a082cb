#include "websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstring>

#include "log.h"
#include "node.h"
#include "worker.h"

namespace gyre {

namespace {

constexpr int64_t kCloseLingerMs = 5000;

bool header_has_token(std::string_view value, std::string_view token) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view item = value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (item.size() == token.size()) {
      bool eq = true;
      for (size_t i = 0; i < item.size(); ++i)
        if (tolower(static_cast<unsigned char>(item[i])) !=
            tolower(static_cast<unsigned char>(token[i])))
          eq = false;
      if (eq) return true;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string accept_key(std::string_view key) {
  static const char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string in(key);
  in += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char *>(in.data()), in.size(), digest);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char *>(out), static_cast<size_t>(n));
}

bool valid_key(std::string_view key) {
  // 16 random bytes, base64: 24 characters ending in "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  unsigned char out[32];
  return EVP_DecodeBlock(out, reinterpret_cast<const unsigned char *>(key.data()), 24) == 18;
}

}  // namespace

bool WebSocketSession::handshake(const HttpRequest &req, HttpResponder &resp,
                                 std::string_view extra, std::string &out) {
  if (!req.upgrade || !header_has_token(req.header("upgrade"), "websocket") ||
      !header_has_token(req.header("connection"), "upgrade")) {
    resp.send(HttpResponse::text(400, "Bad Request"));
    return false;
  }
  if (req.header("sec-websocket-version") != "13") {
    HttpResponse r = HttpResponse::text(426, "Upgrade Required");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    resp.send(std::move(r));
    return false;
  }
  std::string_view key = req.header("sec-websocket-key");
  if (!valid_key(key)) {
    resp.send(HttpResponse::text(400, "Bad Request"));
    return false;
  }
  std::string format;
  if ((req.query_param("cf_protocol", format) && format == "protobuf") ||
      (req.query_param("format", format) && format == "protobuf")) {
    resp.send(HttpResponse::text(400, "protobuf protocol is not supported yet"));
    return false;
  }
  std::string_view protocols = req.header("sec-websocket-protocol");
  std::string chosen;
  if (!protocols.empty()) {
    if (header_has_token(protocols, "centrifuge-json")) {
      chosen = "centrifuge-json";
    } else if (header_has_token(protocols, "centrifuge-protobuf")) {
      resp.send(HttpResponse::text(400, "protobuf protocol is not supported yet"));
      return false;
    }
  }
  out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      accept_key(key) + "\r\n";
  if (!chosen.empty()) out += "Sec-WebSocket-Protocol: " + chosen + "\r\n";
  out += extra;
  out += "\r\n";
  return true;
}

void WebSocketSession::upgrade(Worker &worker, HttpRequest &req, HttpResponder &resp) {
  std::string handshake;
  if (!WebSocketSession::handshake(req, resp, {}, handshake)) return;
  auto session = std::make_unique<WebSocketSession>(worker);
  // Auth plugins and the connect proxy may want the request's headers
  // (cookies, Authorization) at connect; nobody else does, so they are kept
  // only then.
  if (!worker.node().auth().empty() || worker.node().config().proxy.connect.enabled)
    session->headers_ = std::make_unique<HeaderList>(std::move(req.headers));
  WebSocketSession *raw = session.get();
  Connection *conn = resp.take_over(handshake, std::move(session));
  if (!conn) return;
  raw->conn_ = conn;
  // From here the client's queue limit (3008) bounds what is queued.
  conn->set_read_limit(0);
  raw->client_->start();
}

void WebSocketSession::start_bound(Worker &worker, HttpResponder &resp, std::string_view handshake,
                                   std::unique_ptr<StreamBinding> binding) {
  StreamBinding *b = binding.get();
  auto session = std::make_unique<WebSocketSession>(worker, std::move(binding));
  WebSocketSession *raw = session.get();
  b->activate();
  Connection *conn = resp.take_over(handshake, std::move(session));
  if (!conn) return;
  raw->conn_ = conn;
  conn->set_read_limit(0);
  raw->client_->start();
}

const wslay_event_callbacks &WebSocketSession::callbacks() {
  static const wslay_event_callbacks cb = {&WebSocketSession::recv_cb,
                                           &WebSocketSession::send_cb,
                                           &WebSocketSession::genmask_cb,
                                           nullptr,
                                           nullptr,
                                           nullptr,
                                           &WebSocketSession::on_msg_cb};
  return cb;
}

WebSocketSession::WebSocketSession(Worker &worker, std::unique_ptr<StreamBinding> binding)
    : worker_(worker), binding_(std::move(binding)) {
  client_ = std::make_shared<Client>(worker, *this);
  if (binding_) binding_->set_session(client_.get(), this);
}

const HeaderList *WebSocketSession::request_headers() const {
  if (binding_) return binding_->request_headers();
  return headers_.get();
}

void WebSocketSession::drop_request_headers() {
  if (binding_) binding_->drop_request_headers();
  headers_.reset();
}

WebSocketSession::~WebSocketSession() {
  // A context still lent here has unknown state (closing, mid-message).
  if (wc_) worker_.ws_pool().discard(wc_);
}

bool WebSocketSession::lease() {
  if (wc_) return true;
  wc_ = worker_.ws_pool().acquire(this);
  return wc_ != nullptr;
}

void WebSocketSession::give_back() {
  if (!wc_ || closing_ || fragmented_ || !wslay_event_want_read(wc_->ctx) ||
      wslay_event_want_write(wc_->ctx))
    return;
  worker_.ws_pool().release(wc_);
  wc_ = nullptr;
}

ssize_t WebSocketSession::recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int,
                                  void *user) {
  auto *self = static_cast<WsContext *>(user)->session;
  size_t avail = self->feed_end_ - self->feed_pos_;
  if (avail == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = std::min(len, avail);
  std::memcpy(buf, self->conn_->input().data() + self->feed_pos_, n);
  self->feed_pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t WebSocketSession::send_cb(wslay_event_context_ptr, const uint8_t *data, size_t len,
                                  int flags, void *user) {
  auto *wc = static_cast<WsContext *>(user);
  std::string_view bytes(reinterpret_cast<const char *>(data), len);
  // Control frames (pong, close) join the same ordered queue as our frames,
  // each as one Frame: drop_unsent() keeps or drops whole Frames, and a
  // header kept without its payload would swallow the close frame.
  if (flags & WSLAY_MSG_MORE) {
    wc->partial.append(bytes);
    return static_cast<ssize_t>(len);
  }
  if (wc->partial.empty()) {
    wc->session->conn_->send_copy(bytes);
  } else {
    wc->partial.append(bytes);
    wc->session->conn_->send_copy(wc->partial);
    wc->partial.clear();
  }
  return static_cast<ssize_t>(len);
}

int WebSocketSession::genmask_cb(wslay_event_context_ptr, uint8_t *buf, size_t len, void *) {
  std::memset(buf, 0, len);  // servers do not mask
  return 0;
}

void WebSocketSession::on_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg *arg,
                                 void *user) {
  auto *self = static_cast<WsContext *>(user)->session;
  if (self->closing_) return;
  std::string_view msg(reinterpret_cast<const char *>(arg->msg), arg->msg_length);
  switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
      if (self->binding_)
        self->binding_->message(msg, false);
      else
        self->client_->handle_frame(msg);
      break;
    case WSLAY_BINARY_FRAME:
      // Binary frames carry protobuf, which this JSON connection did not ask for.
      if (self->binding_)
        self->binding_->message(msg, true);
      else
        self->client_->disconnect(disconnects::kBadRequest);
      break;
    case WSLAY_PONG: self->client_->on_transport_pong(); break;
    case WSLAY_CONNECTION_CLOSE:
      // wslay echoes the close frame; the client just went away.
      self->peer_closed();
      break;
    default: break;
  }
}

void WebSocketSession::on_data(Connection &conn) {
  conn_ = &conn;
  std::string &in = conn.input();
  if (closing_) {
    in.clear();
    return;
  }
  uint64_t limit = static_cast<uint64_t>(worker_.node().config().ws_message_size_limit);
  // wslay only ever sees whole frames, so its context is idle afterwards.
  FrameScan scan = scan_frames(in.data(), in.size(), fragmented_, limit);
  if (scan.complete == 0) return;
  if (!lease()) {
    client_->disconnect(disconnects::kInternal);
    return;
  }
  auto keep = client_;  // the client may disconnect itself while reading
  feed_pos_ = 0;
  feed_end_ = scan.complete;
  while (feed_pos_ < feed_end_ && !closing_ && wslay_event_want_read(wc_->ctx)) {
    // A non-zero result is a protocol error: wslay queued a close frame
    // (1002, 1009, ...).
    if (wslay_event_recv(wc_->ctx) != 0) break;
  }
  in.erase(0, feed_end_);
  feed_pos_ = feed_end_ = 0;
  fragmented_ = scan.fragmented;
  if (closing_) return;
  if (!wslay_event_want_read(wc_->ctx)) {
    // wslay stopped reading: a close frame was received or sent (e.g. the
    // 1009 of an oversize message).
    peer_closed();
    begin_close();
    return;
  }
  pump_control();
  // Pongs and other control replies count against the queue limit too: a
  // peer that floods pings without reading must not grow it unbounded.
  if (!closing_) client_->check_queue();
  give_back();
}

void WebSocketSession::pump_control() {
  if (wslay_event_want_write(wc_->ctx)) wslay_event_send(wc_->ctx);
  if (wslay_event_get_close_sent(wc_->ctx) && !closing_) begin_close();
}

void WebSocketSession::begin_close() {
  if (closing_) return;
  closing_ = true;
  if (wc_ && wslay_event_want_write(wc_->ctx)) wslay_event_send(wc_->ctx);
  conn_->input().clear();
  conn_->close_after_flush(kCloseLingerMs);
}

void WebSocketSession::on_close(Connection &) {
  closing_ = true;
  peer_closed();
}

void WebSocketSession::peer_closed() {
  client_->on_transport_closed();
  if (binding_) binding_->ended(disconnects::kConnectionClosed);
}

void WebSocketSession::send_text(std::string_view payload) {
  Frame *f = make_ws_text_frame(payload);
  conn_->send(f);
  f->unref();
}

void WebSocketSession::write(std::string_view json) {
  if (closing_ || !conn_) return;
  if (!binding_) return send_text(json);
  std::string bytes;
  if (!binding_->encode(json, bytes)) {
    LOG_WARN("transport %s: encode failed; closing the stream", binding_->transport().c_str());
    // Not now: this may run inside a fan-out or an engine event.
    return client_->disconnect_later(disconnects::kInternal);
  }
  send_text(bytes);
}

void WebSocketSession::write_raw(std::string_view bytes) {
  if (closing_ || !conn_ || bytes.empty()) return;
  send_text(bytes);
}

void WebSocketSession::write_shared(SharedPush &push) {
  if (closing_ || !conn_) return;
  if (binding_) {
    // Form 0: WebSocket text frames (plugin_stream.cc uses 1 and 2).
    Frame *f = binding_->shared_frame(push, 0, &make_ws_text_frame);
    if (!f) return client_->disconnect_later(disconnects::kInternal);
    conn_->send(f);
    return;
  }
  if (!push.ws_frame) push.ws_frame = FrameRef(make_ws_text_frame(push.json));
  conn_->send(push.ws_frame.get());
}

size_t WebSocketSession::queued_bytes() const { return conn_ ? conn_->queued_bytes() : 0; }

bool WebSocketSession::send_liveness_ping() {
  // Only unidirectional plugin streams: the protocol's own pings get pongs.
  if (closing_ || !conn_ || !binding_ || !(binding_->flags() & GYRE_STREAM_UNIDIRECTIONAL))
    return false;
  static constexpr char kPing[] = {'\x89', '\x00'};  // FIN + ping, empty payload
  conn_->send_copy(std::string_view(kPing, sizeof kPing));
  return true;
}

void WebSocketSession::flush() {
  if (conn_ && !closing_) conn_->flush();
}

void WebSocketSession::close(Disconnect d) {
  if (closing_ || !conn_) return;
  if (d.code == disconnects::kConnectionClosed.code) {
    // "Nothing to tell": close TCP without a close frame.
    closing_ = true;
    conn_->close_after_flush(0);
    if (binding_) binding_->ended(d);
    return;
  }
  if (d.code == disconnects::kSlow.code) conn_->drop_unsent();
  // Plugin streams may want the code as a push too (uni_websocket does).
  if (binding_ && (binding_->flags() & GYRE_STREAM_DISCONNECT_PUSH))
    write(binding_->disconnect_message(d));
  if (binding_) binding_->ended(d);
  if (!lease()) {
    closing_ = true;
    conn_->close_now();
    return;
  }
  std::string_view reason = truncate_utf8(d.reason, 123);
  wslay_event_queue_close(wc_->ctx, static_cast<uint16_t>(d.code),
                          reinterpret_cast<const uint8_t *>(reason.data()), reason.size());
  begin_close();
}

}  // namespace gyre

#include "plugin_stream.h"

#include <algorithm>
#include <cstring>

#include "log.h"
#include "loop.h"
#include "node.h"
#include "origin.h"
#include "plugin_host.h"
#include "protocol.h"
#include "websocket.h"
#include "worker.h"

// The host's definition of the opaque encode buffer.
struct gyre_buffer {
  std::string *out;
};

namespace gyre {

namespace {

std::string_view sv(gyre_str s) { return std::string_view(s.ptr ? s.ptr : "", s.len); }
gyre_str gs(std::string_view s) { return gyre_str{s.data(), s.size()}; }

// Wire forms of a shared frame (SharedPush::Encoded::form).
constexpr uint32_t kFormChunked = 1;
constexpr uint32_t kFormPlain = 2;

Frame *make_chunk(std::string_view bytes) {
  char head[24];
  int n = snprintf(head, sizeof head, "%zx\r\n", bytes.size());
  Frame *f = Frame::make(static_cast<size_t>(n) + bytes.size() + 2);
  std::memcpy(f->data(), head, static_cast<size_t>(n));
  std::memcpy(f->data() + n, bytes.data(), bytes.size());
  std::memcpy(f->data() + n + bytes.size(), "\r\n", 2);
  return f;
}

Frame *make_plain(std::string_view bytes) { return Frame::copy_of(bytes); }

// Only on the stream's worker (the THREADING rule of the header).
bool on_stream_thread(const gyre_stream *s, const char *call) {
  if (s && Loop::current() == &s->worker->loop()) return true;
  LOG_ERROR("%s called off the stream's thread (or with no stream): ignored", call);
  return false;
}

// A streaming HTTP response carrying one session: each message a chunk
// (HTTP/1.1) or plain bytes until the connection closes (HTTP/1.0).
class HttpStreamSession : public ConnectionHandler, public Transport, public StreamSink {
 public:
  HttpStreamSession(Worker &worker, std::unique_ptr<StreamBinding> binding, bool chunked)
      : binding_(std::move(binding)), chunked_(chunked) {
    client_ = std::make_shared<Client>(worker, *this);
    binding_->set_session(client_.get(), this);
  }
  void attach(Connection *conn) { conn_ = conn; }
  Client &client() { return *client_; }

  // ConnectionHandler: the request was read whole; a streaming peer has
  // nothing more to say.
  void on_data(Connection &conn) override { conn.input().clear(); }
  void on_close(Connection &) override {
    closing_ = true;
    auto keep = client_;
    client_->on_transport_closed();
    binding_->ended(disconnects::kConnectionClosed);
  }

  // Transport
  std::string_view name() const override { return binding_->transport(); }
  void write(std::string_view json) override {
    if (closing_ || !conn_) return;
    std::string bytes;
    if (!binding_->encode(json, bytes)) return fail_encode();
    Frame *f = chunked_ ? make_chunk(bytes) : make_plain(bytes);
    conn_->send(f);
    f->unref();
  }
  void write_shared(SharedPush &push) override {
    if (closing_ || !conn_) return;
    Frame *f = binding_->shared_frame(push, chunked_ ? kFormChunked : kFormPlain,
                                      chunked_ ? &make_chunk : &make_plain);
    if (!f) return fail_encode();
    conn_->send(f);
  }
  size_t queued_bytes() const override { return conn_ ? conn_->queued_bytes() : 0; }
  void flush() override {
    if (conn_ && !closing_) conn_->flush();
  }
  void close(Disconnect d) override {
    if (closing_ || !conn_) return;
    if (d.code != disconnects::kConnectionClosed.code) {
      if (d.code == disconnects::kSlow.code) conn_->drop_unsent();
      // No close frame here: the disconnect push is how the client learns
      // the code (the end of the stream alone looks like a network error).
      if (binding_->flags() & GYRE_STREAM_DISCONNECT_PUSH) write(binding_->disconnect_message(d));
      if (chunked_) conn_->send_copy("0\r\n\r\n");
    }
    closing_ = true;
    // Before the close: a flush that completes at once closes the
    // connection, and on_close must carry this code, not 3000.
    binding_->ended(d);
    conn_->close_after_flush(0);
  }
  uint32_t stream_flags() const override { return binding_->flags(); }
  std::string_view session_id() const override { return binding_->session_id(); }
  const HeaderList *request_headers() const override { return binding_->request_headers(); }
  void drop_request_headers() override { binding_->drop_request_headers(); }

  // StreamSink
  void write_raw(std::string_view bytes) override {
    if (closing_ || !conn_ || bytes.empty()) return;
    Frame *f = chunked_ ? make_chunk(bytes) : make_plain(bytes);
    conn_->send(f);
    f->unref();
  }

 private:
  void fail_encode() {
    LOG_WARN("transport %s: encode failed; closing the stream", binding_->transport().c_str());
    // Not now: this may run inside a fan-out or an engine event.
    client_->disconnect_later(disconnects::kInternal);
  }
  std::unique_ptr<StreamBinding> binding_;
  std::shared_ptr<Client> client_;
  Connection *conn_ = nullptr;
  bool chunked_;
  bool closing_ = false;
};

HeaderList copy_headers(const HttpRequest &req) { return req.headers; }

}  // namespace

StreamBinding::StreamBinding(std::shared_ptr<gyre_stream> stream, const gyre_stream_options &opts,
                             std::string session_id, HeaderList request_headers)
    : stream_(std::move(stream)),
      ops_(stream_->plugin->transport()),
      transport_(sv(opts.transport)),
      flags_(opts.flags),
      framing_(opts.framing),
      session_(std::move(session_id)),
      headers_(std::make_unique<HeaderList>(std::move(request_headers))) {
  if (transport_.empty()) transport_ = stream_->plugin->name();
}

void StreamBinding::activate() {
  stream_->binding = this;
  stream_->phase = gyre_stream::Phase::Open;
}

StreamBinding::~StreamBinding() {
  if (stream_->binding != this) return;  // never opened: no on_close owed
  ended(disconnects::kShutdown);
  // Only when a session dies inside its own hook (out of memory in
  // stream_open): on_close is owed and nothing will run it later.
  if (close_due_) call_on_close();
  stream_->binding = nullptr;
}

bool StreamBinding::encode(std::string_view json, std::string &out) {
  std::string_view msg = json;
  // Unidirectional peers get pushes bare: {"push":X} -> X.
  static constexpr std::string_view kPush = "{\"push\":";
  if ((flags_ & GYRE_STREAM_UNIDIRECTIONAL) && msg.starts_with(kPush) && msg.ends_with('}'))
    msg = msg.substr(kPush.size(), msg.size() - kPush.size() - 1);
  if (!ops_->encode) {
    out.assign(msg);
    return true;
  }
  gyre_buffer buf{&out};
  gyre_status st;
  try {
    st = ops_->encode(stream_->plugin->state(), framing_, gs(msg), &buf);
  } catch (...) {
    st = GYRE_ERR_INTERNAL;
  }
  return st == GYRE_OK;
}

Frame *StreamBinding::shared_frame(SharedPush &push, uint32_t form,
                                   Frame *(*wrap)(std::string_view)) {
  const void *key = stream_->plugin;
  // Bare and wrapped pushes differ: the unidirectional bit is part of the form.
  if (flags_ & GYRE_STREAM_UNIDIRECTIONAL) form |= 0x100;
  for (const auto &e : push.encoded)
    if (e.plugin == key && e.framing == framing_ && e.form == form) return e.frame.get();
  std::string bytes;
  if (!encode(push.json, bytes)) return nullptr;
  push.encoded.push_back({key, framing_, form, FrameRef(wrap(bytes))});
  return push.encoded.back().frame.get();
}

std::string StreamBinding::disconnect_message(const Disconnect &d) const {
  return protocol::disconnect_push(d);
}

void StreamBinding::message(std::string_view data, bool binary) {
  if (ended_ || !client_) return;
  if (!ops_->on_message) {
    if (binary) return client_->disconnect(disconnects::kBadRequest);
    // What stream_deliver would do: a unidirectional peer's first message
    // is its connect request, later ones are dropped.
    if (flags_ & GYRE_STREAM_UNIDIRECTIONAL) return client_->handle_uni_connect(data);
    return client_->handle_frame(data);
  }
  enter();
  try {
    ops_->on_message(stream_->plugin->state(), stream_.get(), stream_->state, gs(data), binary);
  } catch (...) {
    LOG_ERROR("transport %s: on_message threw", transport_.c_str());
  }
  leave();
}

void StreamBinding::ended(const Disconnect &d) {
  if (ended_) return;
  ended_ = true;
  stream_->phase = gyre_stream::Phase::Closed;
  client_ = nullptr;
  sink_ = nullptr;
  close_code_ = d.code;
  close_reason_ = std::string(d.reason);
  if (stream_->in_hook > 0) {
    close_due_ = true;  // on_close waits for the hook to return
    return;
  }
  call_on_close();
}

void StreamBinding::call_on_close() {
  close_due_ = false;
  try {
    ops_->on_close(stream_->plugin->state(), stream_.get(), stream_->state, close_code_,
                   gs(close_reason_));
  } catch (...) {
    LOG_ERROR("transport %s: on_close threw", transport_.c_str());
  }
  stream_->state = nullptr;
}

void StreamBinding::leave() {
  if (--stream_->in_hook > 0 || !close_due_) return;
  call_on_close();
}

void serve_plugin_route(Worker &worker, Plugin &plugin, HttpRequest &req, HttpResponder resp) {
  const gyre_transport_ops *ops = plugin.transport();
  // Ours for the length of on_request; a session that opens shares it.
  auto stream = std::make_shared<gyre_stream>();
  gyre_stream *s = stream.get();
  s->plugin = &plugin;
  s->worker = &worker;
  s->req = &req;
  s->resp = &resp;
  s->self = stream;
  std::vector<gyre_header> headers;
  headers.reserve(req.headers.size());
  for (const auto &[k, v] : req.headers) headers.push_back(gyre_header{gs(k), gs(v)});
  gyre_http_request view{};
  view.size = sizeof view;
  view.method = gs(req.method);
  view.path = gs(req.path);
  view.query = gs(req.query);
  view.headers = headers.data();
  view.num_headers = headers.size();
  view.body = gs(req.body);
  view.http_minor = static_cast<uint32_t>(req.http_minor);
  ++s->in_hook;
  gyre_status st;
  try {
    st = ops->on_request(plugin.state(), s, &view, &s->state);
  } catch (...) {
    st = GYRE_ERR_INTERNAL;
  }
  s->req = nullptr;
  s->resp = nullptr;
  s->self.reset();
  StreamBinding *b = s->binding;
  if (!b) {
    --s->in_hook;
    if (!s->responded && s->phase == gyre_stream::Phase::Request) {
      if (st == GYRE_OK)
        LOG_WARN("transport %s returned from on_request without answering: 500",
                 plugin.name().c_str());
      resp.send(HttpResponse::text(500, "Internal Server Error"));
    }
    return;
  }
  if (st != GYRE_OK) {
    LOG_WARN("transport %s: on_request failed (status %d) after opening a stream",
             plugin.name().c_str(), st);
    if (Client *c = b->client()) c->disconnect(disconnects::kInternal);
  }
  b->leave();
}

gyre_status stream_thunks::http_respond(gyre_stream *s, int status, const gyre_header *headers,
                                        size_t num_headers, gyre_str body) {
  if (!on_stream_thread(s, "http_respond")) return GYRE_ERR_INVALID;
  if (!s->resp || s->responded || status < 100 || status > 599) return GYRE_ERR_INVALID;
  try {
    HttpResponse r;
    r.status = status;
    for (size_t i = 0; i < num_headers && headers; ++i) {
      std::string k(sv(headers[i].name)), v(sv(headers[i].value));
      // Header injection: a name or value with a line break is refused.
      if (k.find_first_of("\r\n:") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos)
        return GYRE_ERR_INVALID;
      r.headers.emplace_back(std::move(k), std::move(v));
    }
    r.body = std::string(sv(body));
    s->responded = true;
    s->resp->send(std::move(r));
    return GYRE_OK;
  } catch (...) {
    return GYRE_ERR_NOMEM;
  }
}

gyre_status stream_thunks::open(gyre_stream *s, const gyre_stream_options *in) {
  if (!on_stream_thread(s, "stream_open")) return GYRE_ERR_INVALID;
  if (!s->resp || s->responded || !in) return GYRE_ERR_INVALID;
  if (!s->resp->can_take_over()) return GYRE_ERR_UNAVAILABLE;
  gyre_stream_options opts{};
  std::memcpy(&opts, in, std::min(in->size, sizeof opts));
  std::string head_extra;
  for (size_t i = 0; i < opts.num_headers && opts.headers; ++i) {
    std::string_view k = sv(opts.headers[i].name), v = sv(opts.headers[i].value);
    if (k.empty() || k.find_first_of("\r\n:") != std::string_view::npos ||
        v.find_first_of("\r\n") != std::string_view::npos)
      return GYRE_ERR_INVALID;
    head_extra.append(k).append(": ").append(v).append("\r\n");
  }
  int status = opts.status ? opts.status : 200;
  if (status < 200 || status > 599) return GYRE_ERR_INVALID;
  try {
    Worker &worker = *s->worker;
    HttpRequest &req = *s->req;
    HttpResponder &resp = *s->resp;
    std::string session;
    if (opts.flags & (GYRE_STREAM_EMULATION | GYRE_STREAM_UNIDIRECTIONAL))
      session = worker.node().new_client_id();
    std::shared_ptr<gyre_stream> shared = s->self.lock();
    if (opts.flags & GYRE_STREAM_WEBSOCKET) {
      // A browser's cross-site WebSocket carries an Origin: the same check
      // as on the server's own endpoint.
      std::string_view origin = req.header("origin");
      if (!origin.empty() &&
          !check_origin(worker.node().config().allowed_origins, origin, req.header("host"))) {
        LOG_INFO("transport %s: origin %.*s not allowed", s->plugin->name().c_str(),
                 static_cast<int>(origin.size()), origin.data());
        resp.send(HttpResponse::text(403, "Forbidden"));
        s->responded = true;
        return GYRE_ERR_INVALID;
      }
      std::string handshake;
      if (!WebSocketSession::handshake(req, resp, head_extra, handshake)) {
        s->responded = true;  // with the HTTP error
        return GYRE_ERR_INVALID;
      }
      auto binding = std::make_unique<StreamBinding>(std::move(shared), opts, std::move(session),
                                                     copy_headers(req));
      s->responded = true;
      WebSocketSession::start_bound(worker, resp, handshake, std::move(binding));
      return GYRE_OK;
    }
    bool chunked = req.http_minor >= 1;
    std::string head = "HTTP/1." + std::to_string(chunked ? 1 : 0) + " " + std::to_string(status) +
                       " " + http_status_text(status) + "\r\n" + head_extra;
    head += chunked ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n";
    head += "\r\n";
    auto binding = std::make_unique<StreamBinding>(std::move(shared), opts, std::move(session),
                                                   copy_headers(req));
    StreamBinding *b = binding.get();
    auto session_handler = std::make_unique<HttpStreamSession>(worker, std::move(binding), chunked);
    HttpStreamSession *raw = session_handler.get();
    b->activate();
    s->responded = true;
    // can_take_over() said yes, and nothing ran since: this succeeds.
    Connection *conn = resp.take_over(head, std::move(session_handler));
    raw->attach(conn);
    // From here the client's queue limit (3008) bounds what is queued.
    conn->set_read_limit(0);
    raw->client().start();
    return GYRE_OK;
  } catch (...) {
    return GYRE_ERR_NOMEM;
  }
}

gyre_status stream_thunks::write(gyre_stream *s, gyre_str bytes) {
  if (!on_stream_thread(s, "stream_write")) return GYRE_ERR_INVALID;
  if (s->phase != gyre_stream::Phase::Open || !s->binding->sink()) return GYRE_ERR_UNAVAILABLE;
  try {
    s->binding->sink()->write_raw(sv(bytes));
    return GYRE_OK;
  } catch (...) {
    return GYRE_ERR_NOMEM;
  }
}

gyre_status stream_thunks::deliver(gyre_stream *s, gyre_str data) {
  if (!on_stream_thread(s, "stream_deliver")) return GYRE_ERR_INVALID;
  if (s->phase != gyre_stream::Phase::Open || !s->binding->client()) return GYRE_ERR_UNAVAILABLE;
  try {
    Client *c = s->binding->client();
    if (s->binding->flags() & GYRE_STREAM_UNIDIRECTIONAL)
      c->handle_uni_connect(sv(data));
    else
      c->handle_frame(sv(data));
    return GYRE_OK;
  } catch (...) {
    return GYRE_ERR_NOMEM;
  }
}

void stream_thunks::close(gyre_stream *s, uint32_t code, gyre_str reason) {
  if (!on_stream_thread(s, "stream_close")) return;
  if (s->phase != gyre_stream::Phase::Open || !s->binding->client()) return;
  try {
    std::string r(sv(reason));
    if (code < 3000 || code > 4999) code = disconnects::kInternal.code;
    s->binding->client()->disconnect(Disconnect{code, r});
  } catch (...) {
  }
}

gyre_status stream_thunks::buffer_append(gyre_buffer *buf, gyre_str bytes) {
  if (!buf) return GYRE_ERR_INVALID;
  try {
    buf->out->append(sv(bytes));
    return GYRE_OK;
  } catch (...) {
    return GYRE_ERR_NOMEM;
  }
}

}  // namespace gyre

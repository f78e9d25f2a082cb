#include "http.h"

#include <cctype>
#include <cstring>

#include "log.h"

namespace gyre {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view lname) const {
  for (const auto &[k, v] : headers)
    if (k == lname) return v;
  return {};
}

bool HttpRequest::has_header(std::string_view lname) const {
  for (const auto &[k, v] : headers)
    if (k == lname) return true;
  return false;
}

bool HttpRequest::query_param(std::string_view name, std::string &out) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    if (url_decode(k) == name) {
      out = eq == std::string_view::npos ? "" : url_decode(item.substr(eq + 1));
      return true;
    }
    if (amp == std::string_view::npos) break;
    q = q.substr(amp + 1);
  }
  return false;
}

HttpResponse HttpResponse::json(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::empty(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

const char *http_status_text(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

HttpResponder HttpResponder::relayed(Loop &origin, HttpResponder inner) {
  HttpResponder r;
  r.relay_ = std::make_shared<const std::function<void(HttpResponse)>>(
      [&origin, inner = std::move(inner)](HttpResponse resp) {
        // The session is only touched on its own loop's thread.
        origin.post([inner, resp = std::move(resp)]() mutable { inner.send(std::move(resp)); });
      });
  return r;
}

void HttpResponder::send(HttpResponse resp) const {
  if (relay_) return (*relay_)(std::move(resp));
  auto s = session_.lock();
  if (!s) return;
  (*s)->respond(std::move(resp));
}

Connection *HttpResponder::take_over(std::string_view handshake,
                                     std::unique_ptr<ConnectionHandler> next) const {
  if (relay_) return nullptr;
  auto s = session_.lock();
  if (!s) return nullptr;
  HttpSession *session = *s;
  session->upgraded_ = true;
  session->waiting_ = false;
  session->timer_.stop();
  Connection &conn = session->conn_;
  conn.send_copy(handshake);
  // The HTTP session is freed by the pool after the current callback; bytes
  // already buffered after the request head belong to the new protocol.
  session->self_.reset();
  conn.set_handler(std::move(next));
  return &conn;
}

void HttpResponder::move_when_idle(std::function<void(int)> adopt) const {
  if (relay_) return;
  if (auto s = session_.lock()) (*s)->move_to_ = std::move(adopt);
}

HttpSession::HttpSession(Loop &loop, Connection &conn, const HttpLimits &limits,
                         const HttpHandler &handler)
    : loop_(loop),
      conn_(conn),
      limits_(limits),
      handler_(handler),
      self_(std::make_shared<HttpSession *>(this)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  timer_.set_callback(
      [](WheelTimer *, void *self) {
        // Idle keep-alive connection or a peer too slow to send its head.
        static_cast<HttpSession *>(self)->conn_.close_now();
      },
      this);
  timer_.start(loop_.wheel(), limits_.header_timeout_ms);
}

HttpSession::~HttpSession() = default;

const http_parser_settings &HttpSession::settings() {
  static const http_parser_settings s = [] {
    http_parser_settings st;
    std::memset(&st, 0, sizeof st);
    st.on_message_begin = &HttpSession::on_message_begin;
    st.on_url = &HttpSession::on_url;
    st.on_header_field = &HttpSession::on_header_field;
    st.on_header_value = &HttpSession::on_header_value;
    st.on_headers_complete = &HttpSession::on_headers_complete;
    st.on_body = &HttpSession::on_body;
    st.on_message_complete = &HttpSession::on_message_complete;
    return st;
  }();
  return s;
}

bool HttpSession::count_head(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ > limits_.max_header_size) {
    error_status_ = 431;
    return false;
  }
  return true;
}

int HttpSession::on_message_begin(http_parser *p) {
  auto *s = static_cast<HttpSession *>(p->data);
  s->req_ = HttpRequest{};
  s->url_.clear();
  s->head_bytes_ = 0;
  s->in_value_ = false;
  s->timer_.start(s->loop_.wheel(), s->limits_.header_timeout_ms);
  return 0;
}

int HttpSession::on_url(http_parser *p, const char *at, size_t len) {
  auto *s = static_cast<HttpSession *>(p->data);
  if (!s->count_head(len)) return -1;
  s->url_.append(at, len);
  return 0;
}

int HttpSession::on_header_field(http_parser *p, const char *at, size_t len) {
  auto *s = static_cast<HttpSession *>(p->data);
  if (!s->count_head(len)) return -1;
  if (s->in_value_ || s->req_.headers.empty()) {
    if (s->req_.headers.size() >= 100) {
      s->error_status_ = 431;
      return -1;
    }
    s->req_.headers.emplace_back();
    s->in_value_ = false;
  }
  s->req_.headers.back().first += lower(std::string_view(at, len));
  return 0;
}

int HttpSession::on_header_value(http_parser *p, const char *at, size_t len) {
  auto *s = static_cast<HttpSession *>(p->data);
  if (!s->count_head(len)) return -1;
  if (s->req_.headers.empty()) return -1;
  s->in_value_ = true;
  s->req_.headers.back().second.append(at, len);
  return 0;
}

int HttpSession::on_headers_complete(http_parser *p) {
  auto *s = static_cast<HttpSession *>(p->data);
  s->req_.method = http_method_str(static_cast<http_method>(p->method));
  s->req_.keep_alive = http_should_keep_alive(p) != 0;
  s->req_.upgrade = p->upgrade != 0;
  s->req_.http_minor = p->http_minor;
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(s->url_.data(), s->url_.size(), 0, &u) != 0) {
    s->error_status_ = 400;
    return 3;
  }
  if (u.field_set & (1 << UF_PATH))
    s->req_.path = s->url_.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  if (u.field_set & (1 << UF_QUERY))
    s->req_.query = s->url_.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > s->limits_.max_body_size) {
    s->error_status_ = 413;
    return 3;
  }
  s->timer_.start(s->loop_.wheel(), s->limits_.idle_timeout_ms);
  // curl and others wait for this before sending a body.
  for (const auto &[k, v] : s->req_.headers)
    if (k == "expect" && (v == "100-continue" || v == "100-Continue"))
      s->conn_.send_copy("HTTP/1.1 100 Continue\r\n\r\n");
  return 0;
}

int HttpSession::on_body(http_parser *p, const char *at, size_t len) {
  auto *s = static_cast<HttpSession *>(p->data);
  if (s->req_.body.size() + len > s->limits_.max_body_size) {
    s->error_status_ = 413;
    return -1;
  }
  s->req_.body.append(at, len);
  return 0;
}

int HttpSession::on_message_complete(http_parser *p) {
  auto *s = static_cast<HttpSession *>(p->data);
  s->ready_ = true;
  http_parser_pause(p, 1);
  return 0;
}

void HttpSession::fail(int status) {
  HttpResponse r = HttpResponse::text(status, http_status_text(status));
  req_.keep_alive = false;
  respond(std::move(r));
}

void HttpSession::on_data(Connection &conn) {
  if (in_on_data_) return;  // re-entered from a synchronous respond()
  in_on_data_ = true;
  std::string &in = conn.input();
  while (!waiting_ && !upgraded_ && !conn.closing() && !in.empty()) {
    size_t n = http_parser_execute(&parser_, &settings(), in.data(), in.size());
    auto err = HTTP_PARSER_ERRNO(&parser_);
    if (ready_) {
      ready_ = false;
      in.erase(0, n);
      http_parser_pause(&parser_, 0);
      waiting_ = true;
      timer_.stop();
      HttpResponder responder;
      responder.session_ = self_;
      auto self = self_;  // keep the responder target alive during the call
      handler_(req_, responder);
      if (waiting_ && !upgraded_) {
        // The answer comes later: stop reading pipelined requests meanwhile.
        conn.pause_reading();
        paused_for_answer_ = true;
      }
      if (upgraded_) {
        in_on_data_ = false;
        // Bytes after the head belong to the new protocol handler.
        if (!conn.closing() && !in.empty() && conn.handler()) conn.handler()->on_data(conn);
        return;
      }
      continue;
    }
    if (err != HPE_OK) {
      in.clear();
      if (error_status_ == 0) error_status_ = err == HPE_HEADER_OVERFLOW ? 431 : 400;
      fail(error_status_);
      break;
    }
    in.erase(0, n);
    if (n == 0) break;
  }
  in_on_data_ = false;
}

void HttpSession::respond(HttpResponse resp) {
  if (!waiting_ && error_status_ == 0) return;  // answered already
  waiting_ = false;
  std::string out;
  out.reserve(160 + resp.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(resp.status);
  out += ' ';
  out += http_status_text(resp.status);
  out += "\r\n";
  if (!resp.content_type.empty()) {
    out += "Content-Type: ";
    out += resp.content_type;
    out += "\r\n";
  }
  for (const auto &[k, v] : resp.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(resp.body.size());
  out += "\r\n";
  bool keep = req_.keep_alive && error_status_ == 0;
  if (!keep) out += "Connection: close\r\n";
  out += "\r\n";
  // A HEAD answer announces the body's length but carries none.
  if (req_.method != "HEAD") out += resp.body;
  conn_.send_copy(out);
  if (!keep) {
    conn_.close_after_flush(2000);
    return;
  }
  if (move_to_ && conn_.input().empty()) {
    // Nothing pipelined behind this request: if the answer goes out now,
    // the connection can move (pipelined ones stay, answered in order).
    conn_.flush();
    int fd = conn_.release_fd();
    if (fd >= 0) {
      auto adopt = std::move(move_to_);
      adopt(fd);
      return;
    }
  }
  timer_.start(loop_.wheel(), limits_.idle_timeout_ms);
  // An asynchronous answer: continue with pipelined requests (the answer is
  // queued first, so order holds).
  if (paused_for_answer_) {
    paused_for_answer_ = false;
    conn_.resume_reading();
  }
  if (!in_on_data_ && !conn_.input().empty()) on_data(conn_);
}

void HttpSession::on_close(Connection &) {
  timer_.stop();
  self_.reset();
}

}  // namespace gyre

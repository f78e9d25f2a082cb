#include "ws_context_pool.h"

namespace gyre {

namespace {
// Idle contexts kept for reuse; more than this many idle ones are freed.
constexpr size_t kMaxIdle = 256;
}  // namespace

WsContextPool::WsContextPool(const wslay_event_callbacks &callbacks, uint64_t max_message_size)
    : callbacks_(callbacks), max_message_size_(max_message_size) {}

WsContextPool::~WsContextPool() {
  for (WsContext *c : idle_) discard(c);
}

WsContext *WsContextPool::acquire(WebSocketSession *session) {
  WsContext *c;
  if (!idle_.empty()) {
    c = idle_.back();
    idle_.pop_back();
  } else {
    c = new WsContext;
    if (wslay_event_context_server_init(&c->ctx, &callbacks_, c) != 0) {
      delete c;
      return nullptr;
    }
    wslay_event_config_set_max_recv_msg_length(c->ctx, max_message_size_);
  }
  c->session = session;
  return c;
}

void WsContextPool::release(WsContext *c) {
  c->session = nullptr;
  if (idle_.size() >= kMaxIdle) return discard(c);
  idle_.push_back(c);
}

void WsContextPool::discard(WsContext *c) {
  wslay_event_context_free(c->ctx);
  delete c;
}

FrameScan scan_frames(const char *data, size_t len, bool fragmented, uint64_t max_message_size) {
  FrameScan r{0, fragmented};
  const auto *p = reinterpret_cast<const uint8_t *>(data);
  size_t pos = 0;
  while (len - pos >= 2) {
    uint8_t b0 = p[pos], b1 = p[pos + 1];
    bool fin = b0 & 0x80;
    uint8_t opcode = b0 & 0x0F;
    uint8_t len7 = b1 & 0x7F;
    size_t header = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
    if (len - pos < header) break;
    uint64_t payload = len7;
    if (len7 == 126) {
      payload = (uint64_t{p[pos + 2]} << 8) | p[pos + 3];
    } else if (len7 == 127) {
      payload = 0;
      for (int i = 0; i < 8; ++i) payload = (payload << 8) | p[pos + 2 + i];
    }
    if (payload > max_message_size) {
      // Let wslay read the header and refuse the frame.
      r.complete = len;
      return r;
    }
    if (len - pos - header < payload) break;
    pos += header + static_cast<size_t>(payload);
    if (!(opcode & 0x08)) {  // control frames do not touch fragmentation
      if (opcode != 0)
        r.fragmented = !fin;
      else if (fin)
        r.fragmented = false;
    }
    r.complete = pos;
  }
  return r;
}

}  // namespace gyre

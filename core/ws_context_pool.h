// WsContextPool: wslay event contexts shared by all WebSocket connections of
// a loop.
//
// A wslay context costs about 8.8 KB (two 4 KiB frame buffers), which would
// set the per-connection memory floor. A connection only needs one while
// wslay parses bytes it has received; WebSocketSession hands wslay whole
// frames only, so the context is back in its initial state afterwards and
// can serve the next connection. A connection keeps its context only while
// a fragmented message is open (or it is closing).
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gyre {

class WebSocketSession;

struct WsContext {
  wslay_event_context_ptr ctx = nullptr;
  WebSocketSession *session = nullptr;  // the current borrower
  // wslay hands over a frame's header and its payload in separate send
  // callbacks; the header waits here so that the frame is queued as one.
  std::string partial;
};

class WsContextPool {
 public:
  WsContextPool(const wslay_event_callbacks &callbacks, uint64_t max_message_size);
  ~WsContextPool();
  WsContextPool(const WsContextPool &) = delete;
  WsContextPool &operator=(const WsContextPool &) = delete;

  // A context in its initial state, bound to `session`. nullptr on OOM.
  WsContext *acquire(WebSocketSession *session);
  // Returns a context that is back in its initial state.
  void release(WsContext *c);
  // Frees a context whose state is unknown (errors, close).
  void discard(WsContext *c);
  size_t idle() const { return idle_.size(); }

 private:
  wslay_event_callbacks callbacks_;
  uint64_t max_message_size_;
  std::vector<WsContext *> idle_;
};

// Length of the longest prefix of `data` made of complete frames, and
// whether a fragmented data message is still open after it. A frame whose
// declared length exceeds max_message_size is included whole-or-not so that
// wslay sees its header and refuses it (close 1009) without us buffering it.
struct FrameScan {
  size_t complete = 0;
  bool fragmented = false;
};
FrameScan scan_frames(const char *data, size_t len, bool fragmented, uint64_t max_message_size);

}  // namespace gyre

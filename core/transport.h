// Transport: how a Client's protocol messages reach the wire. WebSocket is
// built in; HTTP streaming and SSE arrive as plugins later.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "codes.h"
#include "frame.h"

namespace gyre {

// A push encoded once for all subscribers: the JSON text, and the transport
// frames built from it on first use (one per framing kind).
struct SharedPush {
  std::string json;
  FrameRef ws_frame;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string_view name() const = 0;
  // One reply or push (a single JSON document without newlines).
  virtual void write(std::string_view json) = 0;
  // A push shared across subscribers.
  virtual void write_shared(SharedPush &push) = 0;
  // Bytes queued and not yet written to the socket.
  virtual size_t queued_bytes() const = 0;
  // Writes what the socket takes now (normally writes are batched at the
  // end of the loop iteration). Never closes the session synchronously.
  virtual void flush() = 0;
  // Ends the session with this code and reason (close frame on WebSocket).
  virtual void close(Disconnect d) = 0;
};

}  // namespace gyre

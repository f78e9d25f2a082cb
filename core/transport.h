// Transport: how a Client's protocol messages reach the wire. WebSocket is
// built in; transport plugins add others (plugin_stream.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codes.h"
#include "frame.h"

namespace gyre {

// A push encoded once for all subscribers: the JSON text, and the transport
// frames built from it on first use (one per framing kind).
struct SharedPush {
  explicit SharedPush(std::string j) : json(std::move(j)) {}
  std::string json;
  FrameRef ws_frame;
  // Frames of plugin transports, keyed by plugin, framing and wire form
  // (plugin_stream.cc); empty unless such streams subscribe.
  struct Encoded {
    const void *plugin;
    uint32_t framing;
    uint32_t form;
    FrameRef frame;
  };
  std::vector<Encoded> encoded;
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
  // GYRE_STREAM_* flags of a plugin stream (0 for plain WebSocket).
  virtual uint32_t stream_flags() const { return 0; }
  // The session id of emulation and unidirectional streams, else empty.
  virtual std::string_view session_id() const { return {}; }
  // The headers of the HTTP request that opened the connection, while they
  // are kept (until the connect is decided), or nullptr.
  virtual const std::vector<std::pair<std::string, std::string>> *request_headers() const {
    return nullptr;
  }
  virtual void drop_request_headers() {}
  // A liveness check below the protocol, for peers that cannot answer the
  // protocol's pings (unidirectional WebSocket: a ping frame). True when
  // sent: the transport then reports the answer via Client::on_transport_pong.
  virtual bool send_liveness_ping() { return false; }
};

}  // namespace gyre

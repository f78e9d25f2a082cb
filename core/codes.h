// Protocol error codes, unsubscribe codes and disconnect codes, with the exact
// messages Centrifugo sends (client-protocol spec §5).
#pragma once

#include <cstdint>
#include <string_view>

namespace gyre {

struct Error {
  uint32_t code;
  std::string_view message;
  bool temporary = false;
};

namespace errors {
inline constexpr Error kInternal{100, "internal server error", true};
inline constexpr Error kUnauthorized{101, "unauthorized"};
inline constexpr Error kUnknownChannel{102, "unknown channel"};
inline constexpr Error kPermissionDenied{103, "permission denied"};
inline constexpr Error kMethodNotFound{104, "method not found"};
inline constexpr Error kAlreadySubscribed{105, "already subscribed"};
inline constexpr Error kLimitExceeded{106, "limit exceeded"};
inline constexpr Error kBadRequest{107, "bad request"};
inline constexpr Error kNotAvailable{108, "not available"};
inline constexpr Error kTokenExpired{109, "token expired"};
inline constexpr Error kExpired{110, "expired"};
inline constexpr Error kTooManyRequests{111, "too many requests", true};
inline constexpr Error kUnrecoverablePosition{112, "unrecoverable position"};
// The server API words 104 differently from the client protocol.
inline constexpr Error kApiNotFound{104, "not found"};
}  // namespace errors

struct Disconnect {
  uint32_t code;
  std::string_view reason;
};

namespace disconnects {
inline constexpr Disconnect kConnectionClosed{3000, "connection closed"};
inline constexpr Disconnect kShutdown{3001, "shutdown"};
inline constexpr Disconnect kInternal{3004, "internal server error"};
inline constexpr Disconnect kExpired{3005, "connection expired"};
inline constexpr Disconnect kSubExpired{3006, "subscription expired"};
inline constexpr Disconnect kSlow{3008, "slow"};
inline constexpr Disconnect kWriteError{3009, "write error"};
inline constexpr Disconnect kInsufficientState{3010, "insufficient state"};
inline constexpr Disconnect kForceReconnect{3011, "force reconnect"};
inline constexpr Disconnect kNoPong{3012, "no pong"};
inline constexpr Disconnect kTooManyRequests{3013, "too many requests"};
inline constexpr Disconnect kInvalidToken{3500, "invalid token"};
inline constexpr Disconnect kBadRequest{3501, "bad request"};
inline constexpr Disconnect kStale{3502, "stale"};
inline constexpr Disconnect kForceNoReconnect{3503, "force disconnect"};
inline constexpr Disconnect kConnectionLimit{3504, "connection limit"};
inline constexpr Disconnect kChannelLimit{3505, "channel limit"};
inline constexpr Disconnect kInappropriateProtocol{3506, "inappropriate protocol"};
inline constexpr Disconnect kPermissionDenied{3507, "permission denied"};
inline constexpr Disconnect kNotAvailable{3508, "not available"};
inline constexpr Disconnect kTooManyErrors{3509, "too many errors"};
}  // namespace disconnects

namespace unsubscribes {
inline constexpr Disconnect kServer{2000, "server unsubscribe"};
inline constexpr Disconnect kInsufficientState{2500, "insufficient state"};
inline constexpr Disconnect kExpired{2501, "subscription expired"};
}  // namespace unsubscribes

}  // namespace gyre

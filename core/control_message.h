// Control messages between nodes (the engine carries them as opaque bytes:
// gyre_engine_ops.publish_control / gyre_host_api.handle_control), and the
// registry of the other nodes that their info messages keep.
//
// Control messages are compact JSON objects, at most kMaxControlBytes:
//   {"uid":"<sender node>","type":"<type>", ...fields of the type}
//   node          name, version, num_clients, num_users, num_channels,
//                 num_subs, uptime (the `info` of the sender)
//   shutdown      -
//   disconnect    user, client, session, whitelist [ids], code, reason
//   unsubscribe   user, client, session, channel (absent: every channel)
//   subscribe     user, client, session, channel, b64info, b64data
//   refresh       user, client, session, expired, expire_at, b64info
//   emulation     session, b64data (client protocol commands)
//   survey        id, op ("channels"), pattern
//   survey_reply  id, code (0 ok, 1 internal, 2 invalid request, 3 unknown
//                 op), channels {"<channel>": num_clients}
//   store         kind ("namespace", "proxy", "rpc_namespace"), name,
//                 remove, options (the item's JSON object, as a string):
//                 a change made in the sender's store
// Absent fields take their defaults (empty, 0, false). Bytes that need not
// be JSON or UTF-8 (channel info, push data, emulation commands) travel
// base64-encoded. Anything else (unknown type, a field of the wrong type,
// a value out of bounds) is counted, logged at debug and dropped; unknown
// fields are ignored, so newer nodes may add some.
//
// Threads: encode/decode anywhere; NodeRegistry as its comment says.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.h"

namespace gyre {

// The ABI's bound on one control message (gyre_engine_ops.publish_control).
inline constexpr size_t kMaxControlBytes = 1 << 20;

// One node as `info` shows it (server-api spec §6.4).
struct NodeInfo {
  std::string uid, name, version;
  uint64_t num_clients = 0, num_users = 0, num_channels = 0, num_subs = 0;
  uint64_t uptime = 0;  // seconds; omitted from `info` when 0
};
// Writes one element of `info`'s `nodes`.
void write_node_info(json::Writer &w, const NodeInfo &n);

enum class ControlType : uint8_t {
  Node,
  Shutdown,
  Disconnect,
  Unsubscribe,
  Subscribe,
  Refresh,
  Emulation,
  Survey,
  SurveyReply,
  Store,
};

// Survey reply codes (Centrifugo's).
inline constexpr uint32_t kSurveyOk = 0, kSurveyInternal = 1, kSurveyInvalid = 2,
                          kSurveyUnknownOp = 3;

// One control message; each type uses the fields listed in the header
// comment, the others stay at their defaults.
struct ControlMessage {
  std::string uid;  // the sender
  ControlType type = ControlType::Node;
  NodeInfo node;  // Node (node.uid is the sender's uid)
  // The connections a server API command targets.
  std::string user, client, session;
  std::string channel;                 // Unsubscribe (empty: every channel), Subscribe
  std::string info;                    // Subscribe: channel info; Refresh: connection info
  std::string data;                    // Subscribe: push data; Emulation: the commands
  std::vector<std::string> whitelist;  // Disconnect: connections to spare
  uint32_t code = 0;                   // Disconnect: close code; SurveyReply
  std::string reason;                  // Disconnect
  bool expired = false;                // Refresh
  int64_t expire_at = 0;               // Refresh: unix seconds, <= 0 = never
  uint64_t id = 0;                     // Survey, SurveyReply
  std::string op;                      // Survey
  std::string pattern;                 // Survey "channels"
  std::vector<std::pair<std::string, uint64_t>> channels;  // SurveyReply
  std::string item_kind, item_name, item_options;          // Store
  bool item_remove = false;                                // Store
};

// "node", "shutdown", ... as on the wire (for logs).
const char *control_type_name(ControlType t);

std::string encode_control(const ControlMessage &m);
// False, with the reason, when `data` is not a well-formed message within
// bounds; `out` is then unspecified.
bool decode_control(std::string_view data, ControlMessage &out, std::string &error);

// The other nodes, by their info messages. update/remove/sweep/live on the
// node loop; contains from any thread (deliver_to_session).
class NodeRegistry {
 public:
  // A node not heard from for this long is gone (2 heartbeats + 1 s).
  static constexpr int64_t kExpireMs = 7000;
  // Records an info message; true when the node was not known (or had
  // expired).
  bool update(const NodeInfo &info, int64_t now_ms);
  // A node said it shuts down. True when it was known.
  bool remove(std::string_view uid);
  // Drops the nodes not heard from within kExpireMs; returns their uids.
  std::vector<std::string> sweep(int64_t now_ms);
  // The live nodes, by name then uid.
  std::vector<NodeInfo> live(int64_t now_ms) const;
  bool contains(std::string_view uid, int64_t now_ms) const;
  size_t size() const;

 private:
  struct Entry {
    NodeInfo info;
    int64_t seen_ms;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> nodes_;
};

}  // namespace gyre

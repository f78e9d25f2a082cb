// The client protocol v2 in JSON: decoding commands, encoding replies and
// pushes (client-protocol spec §2-§4). Field names are the proto snake_case
// names; empty fields are left out the way Go's easyjson encoder does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codes.h"
#include "gyre/plugin.h"
#include "json.h"

namespace gyre::protocol {

enum class Method {
  None,
  Connect,
  Subscribe,
  Unsubscribe,
  Publish,
  Presence,
  PresenceStats,
  History,
  Rpc,
  Send,
  Refresh,
  SubRefresh
};

std::string_view method_name(Method m);

struct Command {
  uint32_t id = 0;
  Method method = Method::None;
  json::Value params;  // the method's object
};

// Decodes one command document. False when it is not a valid command
// object (the caller closes with 3501). A command with no known method
// decodes with Method::None.
bool decode_command(const json::Value &root, Command &out);

// {"id":N,"error":{"code":..,"message":..[,"temporary":true]}}
std::string error_reply(uint32_t id, const Error &e);
// {"id":N,"<method>":<result json>}
std::string result_reply(uint32_t id, Method m, std::string_view result_json);

void write_client_info(json::Writer &w, const gyre_client_info &info);
// A Publication object (data, offset, info, tags).
void write_publication(json::Writer &w, const gyre_publication &pub);

// Pushes, each a complete {"push":{...}} document.
std::string pub_push(std::string_view channel, const gyre_publication &pub);
std::string join_push(std::string_view channel, const gyre_client_info &info, bool join);
std::string unsubscribe_push(std::string_view channel, const Disconnect &d);
std::string message_push(std::string_view data);
std::string disconnect_push(const Disconnect &d);

}  // namespace gyre::protocol

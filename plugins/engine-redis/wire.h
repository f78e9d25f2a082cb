// What engine-redis stores in Redis and sends over PUB/SUB.
//
// Framing follows Centrifuge's idea (spec §5): a tiny ASCII header with the
// offset and epoch in front of an opaque body, so a receiver can check order
// before decoding anything:
//   __p1:<offset>:<epoch>__<publication body>   publication with history
//   <publication body>                          publication without history
//   __j__<info body> / __l__<info body>         join / leave
// Bodies are Gyre's own (Gyre nodes talk to Gyre nodes): a kind letter, then
// fields as <decimal length>:<bytes>, binary safe. A publication body starts
// with 'G', never with "__", so the two publication forms cannot be confused.
//   G data time_ms has_info [user client conn_info chan_info] num_tags {key value}
//   I user client conn_info chan_info
// History entries store the publication body; their offset is the entry id.
#pragma once

#include <gyre/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::redis {

void encode_publication(std::string &out, const gyre_publication &pub);
void encode_info(std::string &out, const gyre_client_info &info);

// Views into the decoded bytes: valid while those bytes are. Reused across
// messages so decoding allocates nothing once the tag vector has grown.
struct DecodedPublication {
  gyre_publication pub{};
  gyre_client_info info{};
  std::vector<gyre_tag> tags;
};

bool decode_publication(std::string_view body, DecodedPublication &out);
bool decode_info(std::string_view body, gyre_client_info &out);

enum class FrameKind { Publication, Join, Leave };

struct Frame {
  FrameKind kind = FrameKind::Publication;
  uint64_t offset = 0;  // 0: no history
  std::string_view epoch;
  std::string_view body;
};

// The frame around a history publication (the script builds the same).
std::string history_frame_prefix(uint64_t offset, std::string_view epoch);
bool parse_frame(std::string_view payload, Frame &out);

}  // namespace gyre::redis

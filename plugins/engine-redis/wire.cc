#include "wire.h"

#include <charconv>

namespace gyre::redis {

namespace {

void put(std::string &out, std::string_view field) {
  char len[24];
  auto [end, ec] = std::to_chars(len, len + sizeof len, field.size());
  (void)ec;
  out.append(len, end);
  out += ':';
  out.append(field);
}

void put(std::string &out, gyre_str s) { put(out, std::string_view(s.ptr ? s.ptr : "", s.len)); }

void put_number(std::string &out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  put(out, std::string_view(buf, static_cast<size_t>(end - buf)));
}

// Reads one field; false when the input is malformed or too short.
bool take(std::string_view &in, std::string_view &field) {
  size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return false;
  uint64_t len = 0;
  auto [p, ec] = std::from_chars(in.data(), in.data() + colon, len);
  if (ec != std::errc() || p != in.data() + colon) return false;
  if (len > in.size() - colon - 1) return false;
  field = in.substr(colon + 1, len);
  in.remove_prefix(colon + 1 + len);
  return true;
}

bool take(std::string_view &in, gyre_str &out) {
  std::string_view f;
  if (!take(in, f)) return false;
  out = gyre_str{f.data(), f.size()};
  return true;
}

template <typename T>
bool take_number(std::string_view &in, T &out) {
  std::string_view f;
  if (!take(in, f)) return false;
  auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
  return ec == std::errc() && p == f.data() + f.size();
}

void put_info_fields(std::string &out, const gyre_client_info &info) {
  put(out, info.user);
  put(out, info.client);
  put(out, info.conn_info);
  put(out, info.chan_info);
}

bool take_info_fields(std::string_view &in, gyre_client_info &info) {
  info = gyre_client_info{};
  info.size = sizeof(gyre_client_info);
  return take(in, info.user) && take(in, info.client) && take(in, info.conn_info) &&
         take(in, info.chan_info);
}

}  // namespace

void encode_publication(std::string &out, const gyre_publication &pub) {
  out += 'G';
  put(out, pub.data);
  put_number(out, pub.time_ms);
  put(out, pub.info ? std::string_view("1") : std::string_view("0"));
  if (pub.info) put_info_fields(out, *pub.info);
  put_number(out, static_cast<int64_t>(pub.num_tags));
  for (size_t i = 0; i < pub.num_tags; ++i) {
    put(out, pub.tags[i].key);
    put(out, pub.tags[i].value);
  }
}

void encode_info(std::string &out, const gyre_client_info &info) {
  out += 'I';
  put_info_fields(out, info);
}

bool decode_publication(std::string_view in, DecodedPublication &out) {
  out.pub = gyre_publication{};
  out.pub.size = sizeof(gyre_publication);
  out.tags.clear();
  if (in.empty() || in[0] != 'G') return false;
  in.remove_prefix(1);
  std::string_view has_info;
  if (!take(in, out.pub.data) || !take_number(in, out.pub.time_ms) || !take(in, has_info))
    return false;
  if (has_info == "1") {
    if (!take_info_fields(in, out.info)) return false;
    out.pub.info = &out.info;
  } else if (has_info != "0") {
    return false;
  }
  uint64_t n = 0;
  if (!take_number(in, n) || n > in.size() / 4) return false;  // each tag >= 4 bytes
  for (uint64_t i = 0; i < n; ++i) {
    gyre_tag t{};
    if (!take(in, t.key) || !take(in, t.value)) return false;
    out.tags.push_back(t);
  }
  if (!in.empty()) return false;
  out.pub.tags = out.tags.data();
  out.pub.num_tags = out.tags.size();
  return true;
}

bool decode_info(std::string_view in, gyre_client_info &out) {
  if (in.empty() || in[0] != 'I') return false;
  in.remove_prefix(1);
  return take_info_fields(in, out) && in.empty();
}

std::string history_frame_prefix(uint64_t offset, std::string_view epoch) {
  std::string out = "__p1:";
  out += std::to_string(offset);
  out += ':';
  out.append(epoch);
  out += "__";
  return out;
}

bool parse_frame(std::string_view p, Frame &out) {
  out = Frame{};
  if (!p.starts_with("__")) {
    out.body = p;
    return true;
  }
  if (p.starts_with("__j__") || p.starts_with("__l__")) {
    out.kind = p[2] == 'j' ? FrameKind::Join : FrameKind::Leave;
    out.body = p.substr(5);
    return true;
  }
  if (!p.starts_with("__p1:")) return false;
  std::string_view rest = p.substr(5);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  auto [q, ec] = std::from_chars(rest.data(), rest.data() + colon, out.offset);
  if (ec != std::errc() || q != rest.data() + colon || out.offset == 0) return false;
  rest.remove_prefix(colon + 1);
  size_t end = rest.find("__");
  if (end == std::string_view::npos || end > 64) return false;
  out.epoch = rest.substr(0, end);
  out.body = rest.substr(end + 2);
  return true;
}

}  // namespace gyre::redis

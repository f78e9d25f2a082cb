#include "frame.h"

#include <cstring>

namespace gyre {

Frame *Frame::copy_of(std::string_view bytes) {
  Frame *f = make(bytes.size());
  std::memcpy(f->data(), bytes.data(), bytes.size());
  return f;
}

namespace {
Frame *make_ws_frame(uint8_t opcode, std::string_view a, std::string_view b) {
  size_t len = a.size() + b.size();
  size_t header = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
  Frame *f = Frame::make(header + len);
  auto *p = reinterpret_cast<uint8_t *>(f->data());
  p[0] = 0x80 | opcode;
  if (len < 126) {
    p[1] = static_cast<uint8_t>(len);
  } else if (len <= 0xFFFF) {
    p[1] = 126;
    p[2] = static_cast<uint8_t>(len >> 8);
    p[3] = static_cast<uint8_t>(len);
  } else {
    p[1] = 127;
    for (int i = 0; i < 8; ++i)
      p[2 + i] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (56 - 8 * i));
  }
  if (!a.empty()) std::memcpy(p + header, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + header + a.size(), b.data(), b.size());
  return f;
}
}  // namespace

std::string_view truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // Step back over continuation bytes so no character is cut in half.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

Frame *make_ws_text_frame(std::string_view payload) { return make_ws_frame(0x1, payload, {}); }

Frame *make_ws_close_frame(uint16_t code, std::string_view reason) {
  // A close payload holds at most 125 bytes: 2 for the code, 123 of reason.
  reason = truncate_utf8(reason, 123);
  char c[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  return make_ws_frame(0x8, std::string_view(c, 2), reason);
}

}  // namespace gyre

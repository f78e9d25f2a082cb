#include "base64.h"

#include <array>
#include <cstdint>

namespace gyre::jwt {

namespace {

constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// value of each byte in the alphabet, or -1
std::array<int8_t, 256> table(bool url) {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 62; ++i) t[static_cast<unsigned char>(kUrl[i])] = static_cast<int8_t>(i);
  t[static_cast<unsigned char>(url ? '-' : '+')] = 62;
  t[static_cast<unsigned char>(url ? '_' : '/')] = 63;
  return t;
}

std::optional<std::string> decode(std::string_view in, bool url) {
  static const auto kUrlTable = table(true);
  static const auto kStdTable = table(false);
  const auto &t = url ? kUrlTable : kStdTable;
  if (in.size() % 4 == 1) return std::nullopt;  // no encoding ends with 6 bits
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = t[c];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // The leftover bits must be zero: otherwise two encodings decode alike.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) { return decode(in, true); }

std::optional<std::string> base64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  return decode(in, false);
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kUrl[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kUrl[(acc << (6 - bits)) & 0x3F];
  return out;
}

}  // namespace gyre::jwt

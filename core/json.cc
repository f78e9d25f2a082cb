#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace gyre::json {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void skip_ws(std::string_view s, size_t &pos) {
  while (pos < s.size() && is_ws(s[pos])) ++pos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Validates one UTF-8 sequence starting at s[pos]; advances pos.
bool skip_utf8(std::string_view s, size_t &pos) {
  auto c = static_cast<unsigned char>(s[pos]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) {
    ++pos;
    return true;
  } else if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return false;
  }
  if (pos + n >= s.size()) return false;
  for (size_t i = 1; i <= n; ++i) {
    auto cc = static_cast<unsigned char>(s[pos + i]);
    if ((cc & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Reject overlong forms, surrogates and out-of-range code points.
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  pos += n + 1;
  return true;
}

// Scans a string literal at s[pos] == '"'. Returns false on invalid input.
bool scan_string(std::string_view s, size_t &pos) {
  ++pos;
  while (pos < s.size()) {
    char c = s[pos];
    if (c == '"') {
      ++pos;
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (c == '\\') {
      if (++pos >= s.size()) return false;
      char e = s[pos];
      if (e == 'u') {
        if (pos + 4 >= s.size()) return false;
        for (int i = 1; i <= 4; ++i)
          if (hex_value(s[pos + i]) < 0) return false;
        pos += 5;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                 e == 'r' || e == 't') {
        ++pos;
      } else {
        return false;
      }
      continue;
    }
    if (!skip_utf8(s, pos)) return false;
  }
  return false;
}

bool scan_number(std::string_view s, size_t &pos) {
  size_t p = pos;
  if (p < s.size() && s[p] == '-') ++p;
  if (p >= s.size()) return false;
  if (s[p] == '0') {
    ++p;
  } else if (s[p] >= '1' && s[p] <= '9') {
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
  } else {
    return false;
  }
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t d = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    if (p == d) return false;
  }
  if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
    ++p;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
    size_t d = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    if (p == d) return false;
  }
  pos = p;
  return true;
}

void append_utf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string unescape_string(std::string_view q) {
  std::string out;
  if (q.size() < 2) return out;
  std::string_view s = q.substr(1, q.size() - 2);
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) break;
    switch (s[i]) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        if (i + 4 >= s.size()) return out;
        uint32_t cp = 0;
        for (int k = 1; k <= 4; ++k) cp = cp * 16 + hex_value(s[i + k]);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          uint32_t lo = 0;
          bool ok = true;
          for (int k = 3; k <= 6; ++k) {
            int h = hex_value(s[i + k]);
            if (h < 0) ok = false;
            lo = lo * 16 + (h < 0 ? 0 : h);
          }
          if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        append_utf8(out, cp);
        break;
      }
      default: out += s[i]; break;
    }
  }
  return out;
}

bool Document::fail(size_t pos, const char *what) {
  error_ = std::string(what) + " at byte " + std::to_string(pos);
  return false;
}

bool Document::parse(std::string_view text, uint32_t max_depth) {
  src_ = text;
  nodes_.clear();
  error_.clear();
  max_depth_ = max_depth;
  if (text.size() >= UINT32_MAX) return fail(0, "document too large");
  size_t pos = 0;
  skip_ws(text, pos);
  uint32_t root;
  if (!parse_value(pos, 0, root)) {
    nodes_.clear();
    return false;
  }
  skip_ws(text, pos);
  if (pos != text.size()) {
    nodes_.clear();
    return fail(pos, "trailing characters");
  }
  return true;
}

bool Document::parse_value(size_t &pos, uint32_t depth, uint32_t &out) {
  if (pos >= src_.size()) return fail(pos, "unexpected end");
  if (depth > max_depth_) return fail(pos, "nesting too deep");
  out = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(Node{Type::Null, static_cast<uint32_t>(pos), 0, 0, 0});
  char c = src_[pos];
  Type t;
  if (c == '{' || c == '[') {
    bool obj = c == '{';
    t = obj ? Type::Object : Type::Array;
    ++pos;
    skip_ws(src_, pos);
    uint32_t prev = 0, count = 0;
    char close = obj ? '}' : ']';
    if (pos < src_.size() && src_[pos] == close) {
      ++pos;
    } else {
      for (;;) {
        size_t key_start = 0, key_len = 0;
        if (obj) {
          if (pos >= src_.size() || src_[pos] != '"') return fail(pos, "expected object key");
          key_start = pos;
          if (!scan_string(src_, pos)) return fail(pos, "invalid string");
          key_len = pos - key_start;
          skip_ws(src_, pos);
          if (pos >= src_.size() || src_[pos] != ':') return fail(pos, "expected ':'");
          ++pos;
          skip_ws(src_, pos);
        }
        uint32_t child;
        if (!parse_value(pos, depth + 1, child)) return false;
        nodes_[child].key_start = static_cast<uint32_t>(key_start);
        nodes_[child].key_len = static_cast<uint32_t>(key_len);
        if (count == 0)
          nodes_[out].first = child;
        else
          nodes_[prev].next = child;
        prev = child;
        ++count;
        skip_ws(src_, pos);
        if (pos >= src_.size()) return fail(pos, "unexpected end");
        if (src_[pos] == ',') {
          ++pos;
          skip_ws(src_, pos);
          continue;
        }
        if (src_[pos] == close) {
          ++pos;
          break;
        }
        return fail(pos, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    nodes_[out].count = count;
  } else if (c == '"') {
    t = Type::String;
    if (!scan_string(src_, pos)) return fail(pos, "invalid string");
  } else if (c == 't' && src_.substr(pos, 4) == "true") {
    t = Type::True;
    pos += 4;
  } else if (c == 'f' && src_.substr(pos, 5) == "false") {
    t = Type::False;
    pos += 5;
  } else if (c == 'n' && src_.substr(pos, 4) == "null") {
    t = Type::Null;
    pos += 4;
  } else {
    t = Type::Number;
    if (!scan_number(src_, pos)) return fail(pos, "invalid value");
  }
  nodes_[out].type = t;
  nodes_[out].len = static_cast<uint32_t>(pos - nodes_[out].start);
  return true;
}

Type Value::type() const { return doc_->nodes_[index_].type; }

std::string_view Value::raw() const {
  if (!doc_) return {};
  const auto &n = doc_->nodes_[index_];
  return doc_->src_.substr(n.start, n.len);
}

std::optional<int64_t> Value::as_int64() const {
  if (!is_number()) return std::nullopt;
  auto r = raw();
  int64_t v;
  auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), v);
  if (ec == std::errc() && p == r.data() + r.size()) return v;
  // Accept integral values written with an exponent or fraction (1e3, 2.0).
  auto d = as_double();
  if (d && std::floor(*d) == *d && *d >= -9.2e18 && *d <= 9.2e18) return static_cast<int64_t>(*d);
  return std::nullopt;
}

std::optional<uint64_t> Value::as_uint64() const {
  if (!is_number()) return std::nullopt;
  auto r = raw();
  uint64_t v;
  auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), v);
  if (ec == std::errc() && p == r.data() + r.size()) return v;
  auto d = as_double();
  if (d && std::floor(*d) == *d && *d >= 0 && *d <= 1.8e19) return static_cast<uint64_t>(*d);
  return std::nullopt;
}

std::optional<double> Value::as_double() const {
  if (!is_number()) return std::nullopt;
  std::string tmp(raw());
  char *end = nullptr;
  double d = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size()) return std::nullopt;
  return d;
}

std::string Value::as_string() const {
  if (!is_string()) return {};
  return unescape_string(raw());
}

bool Value::string_equals(std::string_view s) const {
  if (!is_string()) return false;
  auto r = raw();
  auto inner = r.substr(1, r.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == s;
  return unescape_string(r) == s;
}

Value Value::get(std::string_view key, bool ignore_case) const {
  if (!is_object()) return {};
  const auto &nodes = doc_->nodes_;
  Value found;
  // Last duplicate wins, as in Go's encoding/json.
  for (uint32_t i = nodes[index_].first, n = 0; n < nodes[index_].count; i = nodes[i].next, ++n) {
    std::string_view k = doc_->src_.substr(nodes[i].key_start + 1, nodes[i].key_len - 2);
    bool match;
    if (k.find('\\') != std::string_view::npos) {
      std::string u = unescape_string(doc_->src_.substr(nodes[i].key_start, nodes[i].key_len));
      match = ignore_case ? ascii_iequals(u, key) : u == key;
    } else {
      match = ignore_case ? ascii_iequals(k, key) : k == key;
    }
    if (match) found = Value(doc_, i);
  }
  return found;
}

size_t Value::size() const {
  if (!is_array() && !is_object()) return 0;
  return doc_->nodes_[index_].count;
}

Value Value::first_child() const {
  if (size() == 0) return {};
  return Value(doc_, doc_->nodes_[index_].first);
}

Value Value::next_sibling() const {
  if (!doc_) return {};
  uint32_t n = doc_->nodes_[index_].next;
  return n ? Value(doc_, n) : Value();
}

std::string_view Value::raw_key() const {
  if (!doc_) return {};
  const auto &n = doc_->nodes_[index_];
  return doc_->src_.substr(n.key_start, n.key_len);
}

std::string Value::key() const { return unescape_string(raw_key()); }

bool is_valid(std::string_view text) {
  Document d;
  return d.parse(text);
}

void append_quoted(std::string &out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_raw_without_newlines(std::string &out, std::string_view raw) {
  size_t start = 0;
  for (;;) {
    size_t nl = raw.find('\n', start);
    if (nl == std::string_view::npos) {
      out.append(raw.data() + start, raw.size() - start);
      return;
    }
    out.append(raw.data() + start, nl - start);
    start = nl + 1;
  }
}

void Writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (need_comma_) out_ += ',';
}

Writer &Writer::open(char c) {
  separate();
  out_ += c;
  need_comma_ = false;
  return *this;
}
Writer &Writer::close(char c) {
  out_ += c;
  need_comma_ = true;
  return *this;
}
Writer &Writer::key(std::string_view k) {
  separate();
  append_quoted(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}
Writer &Writer::string(std::string_view s) {
  separate();
  append_quoted(out_, s);
  need_comma_ = true;
  return *this;
}
Writer &Writer::raw(std::string_view j) {
  separate();
  append_raw_without_newlines(out_, j);
  need_comma_ = true;
  return *this;
}
template <typename T>
Writer &Writer::number(T v) {
  separate();
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, p);
  need_comma_ = true;
  return *this;
}
Writer &Writer::uint(uint64_t v) { return number(v); }
Writer &Writer::int64(int64_t v) { return number(v); }
Writer &Writer::boolean(bool b) {
  separate();
  out_ += b ? "true" : "false";
  need_comma_ = true;
  return *this;
}
Writer &Writer::null() {
  separate();
  out_ += "null";
  need_comma_ = true;
  return *this;
}

}  // namespace gyre::json

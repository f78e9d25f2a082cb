#include "json_value.h"

#include <cmath>
#include <cstdlib>
#include <unordered_set>

namespace gyre::jwt {

const JsonValue *JsonValue::get(std::string_view key) const {
  for (const auto &[k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  bool parse(JsonValue &out, std::string &error) {
    skip_ws();
    if (!value(out, 0)) {
      error = error_ + " at byte " + std::to_string(pos_);
      return false;
    }
    skip_ws();
    if (pos_ != s_.size()) {
      error = "trailing characters at byte " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 32;

  bool fail(const char *why) {
    error_ = why;
    return false;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(JsonValue &v, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    if (at_end()) return fail("unexpected end");
    size_t start = pos_;
    bool ok;
    switch (peek()) {
      case '{': ok = object(v, depth); break;
      case '[': ok = array(v, depth); break;
      case '"':
        v.type_ = JsonValue::Type::String;
        ok = string(v.str_);
        break;
      case 't':
        v.type_ = JsonValue::Type::Bool;
        v.bool_ = true;
        ok = literal("true");
        break;
      case 'f':
        v.type_ = JsonValue::Type::Bool;
        ok = literal("false");
        break;
      case 'n':
        v.type_ = JsonValue::Type::Null;
        ok = literal("null");
        break;
      default: ok = number(v); break;
    }
    if (ok) v.raw_ = s_.substr(start, pos_ - start);
    return ok;
  }

  bool object(JsonValue &v, int depth) {
    v.type_ = JsonValue::Type::Object;
    // Hashed: a token of thousands of keys must not cost a quadratic scan.
    std::unordered_set<std::string> keys;
    ++pos_;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (at_end() || peek() != '"') return fail("expected a key");
      std::string key;
      if (!string(key)) return false;
      if (!keys.insert(key).second) return fail("duplicate key");
      skip_ws();
      if (at_end() || peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      JsonValue child;
      if (!value(child, depth + 1)) return false;
      v.members_.emplace_back(std::move(key), std::move(child));
      skip_ws();
      if (at_end()) return fail("unexpected end");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue &v, int depth) {
    v.type_ = JsonValue::Type::Array;
    ++pos_;
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      JsonValue child;
      if (!value(child, depth + 1)) return false;
      v.items_.push_back(std::move(child));
      skip_ws();
      if (at_end()) return fail("unexpected end");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static void put_utf8(std::string &out, uint32_t cp) {
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

  bool hex4(uint32_t &out) {
    if (s_.size() - pos_ < 4) return fail("short \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("bad \\u escape");
    }
    return true;
  }

  bool string(std::string &out) {
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_end()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (s_.substr(pos_, 2) != "\\u") return fail("lone surrogate");
            pos_ += 2;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  bool digits() {
    size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool number(JsonValue &v) {
    v.type_ = JsonValue::Type::Number;
    size_t start = pos_;
    if (!at_end() && peek() == '-') ++pos_;
    if (at_end()) return fail("invalid value");
    if (peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail("invalid value");
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digits()) return fail("invalid number");
    }
    std::string text(s_.substr(start, pos_ - start));
    v.number_ = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(v.number_)) return fail("number out of range");
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

std::string json_quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

bool parse_json(std::string_view text, JsonValue &out, std::string &error) {
  JsonParser p(text);
  out = JsonValue();
  return p.parse(out, error);
}

}  // namespace gyre::jwt

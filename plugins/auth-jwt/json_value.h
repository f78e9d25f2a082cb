// A strict JSON reader for token headers and claims: RFC 8259 grammar,
// duplicate object keys refused (a token with two `sub` claims is invalid),
// a depth limit, and every value's raw text kept so that claims such as
// `info` reach clients byte for byte (a number is never re-printed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::jwt {

class JsonValue {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Type type() const { return type_; }
  bool is_string() const { return type_ == Type::String; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_object() const { return type_ == Type::Object; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_null() const { return type_ == Type::Null; }
  // The value's text in the parsed document (valid while the text is).
  std::string_view raw() const { return raw_; }
  const std::string &str() const { return str_; }  // String: decoded
  bool boolean() const { return bool_; }
  // Number: its value (exact for integers up to 2^53).
  double number() const { return number_; }
  const std::vector<std::pair<std::string, JsonValue>> &members() const { return members_; }
  const std::vector<JsonValue> &items() const { return items_; }
  // Object member, or nullptr.
  const JsonValue *get(std::string_view key) const;

 private:
  friend class JsonParser;
  Type type_ = Type::Null;
  std::string_view raw_;
  std::string str_;
  bool bool_ = false;
  double number_ = 0;
  std::vector<std::pair<std::string, JsonValue>> members_;
  std::vector<JsonValue> items_;
};

// Parses `text` (which must outlive `out`). False with a reason otherwise.
bool parse_json(std::string_view text, JsonValue &out, std::string &error);

// The member `key` of object v unless it is absent or null (Go's decoder,
// which Centrifugo uses, treats a null claim as a missing one).
inline const JsonValue *present(const JsonValue &v, std::string_view key) {
  const JsonValue *m = v.get(key);
  return m && !m->is_null() ? m : nullptr;
}

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace gyre::jwt

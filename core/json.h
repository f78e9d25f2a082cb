// JSON reading and writing for the client protocol, the server API and the
// config file.
//
// Why not cJSON: Centrifugo passes `data`, `info` and friends through
// byte-for-byte (spec: "raw JSON pass-through"), and cJSON re-prints numbers
// as doubles (12345678901234567890 becomes 1.2345678901234567e+19). This
// parser keeps the exact source span of every value, validates strictly
// (RFC 8259), and allocates one node vector per document.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::json {

enum class Type : uint8_t { Null, False, True, Number, String, Array, Object };

class Document;

// A view of one value inside a Document. Cheap to copy; valid while the
// Document and its source text live.
class Value {
 public:
  Value() = default;
  bool valid() const { return doc_ != nullptr; }
  explicit operator bool() const { return valid(); }
  Type type() const;
  bool is_null() const { return valid() && type() == Type::Null; }
  bool is_bool() const { return valid() && (type() == Type::True || type() == Type::False); }
  bool is_number() const { return valid() && type() == Type::Number; }
  bool is_string() const { return valid() && type() == Type::String; }
  bool is_array() const { return valid() && type() == Type::Array; }
  bool is_object() const { return valid() && type() == Type::Object; }

  // The exact source text of the value (for strings: with quotes).
  std::string_view raw() const;

  bool as_bool() const { return type() == Type::True; }
  // Strict integer conversions: nullopt when not an integer in range.
  std::optional<int64_t> as_int64() const;
  std::optional<uint64_t> as_uint64() const;
  std::optional<double> as_double() const;
  // Unescaped string content (empty for non-strings).
  std::string as_string() const;
  // True when the (unescaped) string equals s, without allocating when the
  // string has no escapes.
  bool string_equals(std::string_view s) const;

  // Object member lookup; invalid Value when absent or not an object.
  // `ignore_case` matches ASCII case-insensitively (Go encoding/json does).
  Value get(std::string_view key, bool ignore_case = false) const;
  Value operator[](std::string_view key) const { return get(key); }

  // Iteration over array elements / object members.
  size_t size() const;
  Value first_child() const;
  Value next_sibling() const;
  // For a value that is an object member: its key, unescaped.
  std::string key() const;
  std::string_view raw_key() const;  // with quotes

 private:
  friend class Document;
  Value(const Document *doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document *doc_ = nullptr;
  uint32_t index_ = 0;
};

// A parsed document. Keeps a view of the source: the source must outlive it.
class Document {
 public:
  // Parses `text` as exactly one JSON value (surrounding whitespace allowed).
  // On failure returns false and error() says where.
  bool parse(std::string_view text, uint32_t max_depth = 64);
  Value root() const { return nodes_.empty() ? Value() : Value(this, 0); }
  const std::string &error() const { return error_; }

 private:
  friend class Value;
  struct Node {
    Type type;
    uint32_t start, len;          // value span in source
    uint32_t key_start, key_len;  // member key span (with quotes), or 0
    uint32_t next = 0;            // sibling index, 0 = none
    uint32_t first = 0;           // first child index, 0 = none
    uint32_t count = 0;           // children
  };
  bool parse_value(size_t &pos, uint32_t depth, uint32_t &out_index);
  bool fail(size_t pos, const char *what);
  std::string_view src_;
  std::vector<Node> nodes_;
  std::string error_;
  uint32_t max_depth_ = 64;
};

// True when text is exactly one valid JSON value.
bool is_valid(std::string_view text);

// Unescapes the content of a JSON string literal given with its quotes.
std::string unescape_string(std::string_view quoted);

// Appends `s` as a JSON string literal (quotes included) to out.
void append_quoted(std::string &out, std::string_view s);

// Appends raw JSON text with every raw newline removed: replies are framed by
// newlines, and valid JSON only has newlines as insignificant whitespace.
void append_raw_without_newlines(std::string &out, std::string_view raw);

// A small streaming writer that manages commas. Keys and strings are escaped;
// raw() inserts already-valid JSON.
class Writer {
 public:
  explicit Writer(std::string &out) : out_(out) {}
  Writer &begin_object() { return open('{'); }
  Writer &end_object() { return close('}'); }
  Writer &begin_array() { return open('['); }
  Writer &end_array() { return close(']'); }
  Writer &key(std::string_view k);
  Writer &string(std::string_view s);
  Writer &raw(std::string_view json);  // newlines stripped
  Writer &uint(uint64_t v);
  Writer &int64(int64_t v);
  Writer &boolean(bool b);
  Writer &null();
  // Convenience: key + value.
  Writer &field(std::string_view k, std::string_view s) { return key(k).string(s); }
  Writer &field_raw(std::string_view k, std::string_view j) { return key(k).raw(j); }
  Writer &field_uint(std::string_view k, uint64_t v) { return key(k).uint(v); }
  Writer &field_bool(std::string_view k, bool v) { return key(k).boolean(v); }

 private:
  void separate();
  Writer &open(char c);
  Writer &close(char c);
  template <typename T>
  Writer &number(T v);
  std::string &out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace gyre::json

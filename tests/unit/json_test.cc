// gyre::json: strict RFC 8259 validation, byte-exact raw() spans, member
// lookup, number conversions, unescaping and the Writer.
#include "json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace {

using gyre::json::Document;
using gyre::json::Type;
using gyre::json::Value;
using gyre::json::Writer;

bool valid(std::string_view s) { return gyre::json::is_valid(s); }

std::string nested_arrays(int n) {
  return std::string(static_cast<size_t>(n), '[') + std::string(static_cast<size_t>(n), ']');
}

// --- validation -------------------------------------------------------------

TEST(JsonValidate, AcceptsScalarsAndContainers) {
  for (const char *ok : {"0",
                         "-0",
                         "1",
                         "-1",
                         "123",
                         "1.5",
                         "-0.25",
                         "1e5",
                         "1E5",
                         "1e+5",
                         "1e-5",
                         "1.0e2",
                         "12345678901234567890",
                         "true",
                         "false",
                         "null",
                         "\"\"",
                         "\"abc\"",
                         "[]",
                         "{}",
                         "[1,2,3]",
                         "{\"a\":1,\"b\":[true,false,null]}",
                         " \t\r\n{ \"a\" : [ 1 , { } ] } \n\t",
                         "[[],{}]"}) {
    EXPECT_TRUE(valid(ok)) << ok;
  }
}

TEST(JsonValidate, RejectsBadNumbers) {
  for (const char *bad : {"01", "-01", "00", "1.", "-", ".5", "+1", "1e", "1e+", "1E-", "0x10",
                          "NaN", "Infinity", "-Infinity", "1.e5", "--1", "1..2", "- 1", "1ee5"}) {
    EXPECT_FALSE(valid(bad)) << bad;
  }
}

TEST(JsonValidate, RejectsBadLiteralsAndStructure) {
  for (const char *bad :
       {"",     " ",    "tru",        "nul",       "fals",       "truex", "True",
        "NULL", "[1,]", "[,1]",       "[1 2]",     "[",          "]",     "{",
        "}",    "{,}",  "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}",   "{a:1}", "{'a':1}",
        "'a'",  "1 2",  "{}{}",       "[]]",       "{\"a\":1}}", "{1:2}", "[1,,2]"}) {
    EXPECT_FALSE(valid(bad)) << bad;
  }
}

TEST(JsonValidate, RejectsBadEscapes) {
  for (const char *bad : {"\"\\x\"", "\"\\a\"", "\"\\'\"", "\"\\u12\"", "\"\\u12G4\"",
                          "\"\\U0041\"", "\"\\u\"", "\"\\\"", "\"abc", "\"\\0\""}) {
    EXPECT_FALSE(valid(bad)) << bad;
  }
  for (const char *ok : {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\uFFFF\"",
                         "\"\\ud800\"" /* lone surrogate escape: valid grammar */}) {
    EXPECT_TRUE(valid(ok)) << ok;
  }
}

TEST(JsonValidate, RejectsControlCharactersInStrings) {
  EXPECT_FALSE(valid("\"a\nb\""));
  EXPECT_FALSE(valid("\"a\tb\""));
  EXPECT_FALSE(valid("\"\r\""));
  EXPECT_FALSE(valid("\"\x1f\""));
  EXPECT_FALSE(valid(std::string_view("\"a\0b\"", 5)));
  EXPECT_TRUE(valid("\"\x20\x7f\""));  // space and DEL are allowed raw
}

TEST(JsonValidate, Utf8) {
  EXPECT_TRUE(valid("\"h\xC3\xA9llo\""));      // é
  EXPECT_TRUE(valid("\"\xE2\x82\xAC\""));      // €
  EXPECT_TRUE(valid("\"\xF0\x9F\x98\x80\""));  // U+1F600
  EXPECT_TRUE(valid("\"\xEF\xBF\xBF\""));      // U+FFFF
  EXPECT_TRUE(valid("\"\xF4\x8F\xBF\xBF\""));  // U+10FFFF
  EXPECT_TRUE(valid("\"\xED\x9F\xBF\""));      // U+D7FF, just below surrogates
  EXPECT_FALSE(valid("\"\x80\""));             // lone continuation byte
  EXPECT_FALSE(valid("\"\xBF\""));
  EXPECT_FALSE(valid("\"\xC3\""));                  // truncated 2-byte
  EXPECT_FALSE(valid("\"\xC3\x28\""));              // bad continuation
  EXPECT_FALSE(valid("\"\xE2\x82\""));              // truncated 3-byte
  EXPECT_FALSE(valid("\"\xC0\xAF\""));              // overlong '/'
  EXPECT_FALSE(valid("\"\xC1\xBF\""));              // overlong
  EXPECT_FALSE(valid("\"\xE0\x80\xAF\""));          // overlong 3-byte
  EXPECT_FALSE(valid("\"\xF0\x80\x80\xAF\""));      // overlong 4-byte
  EXPECT_FALSE(valid("\"\xED\xA0\x80\""));          // U+D800 encoded
  EXPECT_FALSE(valid("\"\xED\xBF\xBF\""));          // U+DFFF encoded
  EXPECT_FALSE(valid("\"\xF4\x90\x80\x80\""));      // > U+10FFFF
  EXPECT_FALSE(valid("\"\xF8\x88\x80\x80\x80\""));  // 5-byte form
  EXPECT_FALSE(valid("\"\xFE\""));
  EXPECT_FALSE(valid("\"\xFF\""));
  // Invalid UTF-8 in a key is rejected too.
  EXPECT_FALSE(valid("{\"\xC3\":1}"));
}

TEST(JsonValidate, ErrorMessagesSayWhere) {
  Document d;
  EXPECT_FALSE(d.parse(""));
  EXPECT_EQ(d.error(), "unexpected end at byte 0");
  EXPECT_FALSE(d.parse("[1,]"));
  EXPECT_EQ(d.error(), "invalid value at byte 3");
  EXPECT_FALSE(d.parse("{\"a\":1,}"));
  EXPECT_EQ(d.error(), "expected object key at byte 7");
  EXPECT_FALSE(d.parse("1 2"));
  EXPECT_EQ(d.error(), "trailing characters at byte 2");
  EXPECT_FALSE(d.parse("[1 2]"));
  EXPECT_EQ(d.error(), "expected ',' or ']' at byte 3");
  EXPECT_FALSE(d.parse("{\"a\" 1}"));
  EXPECT_EQ(d.error(), "expected ':' at byte 5");
  // A failed parse leaves no root; a good one clears the error.
  EXPECT_FALSE(d.root().valid());
  EXPECT_TRUE(d.parse("{}"));
  EXPECT_EQ(d.error(), "");
  EXPECT_TRUE(d.root().is_object());
}

// Depth = number of enclosing containers of a value; each value must be at
// depth <= max_depth.
TEST(JsonValidate, DepthLimit) {
  Document d;
  EXPECT_TRUE(d.parse("1", 0));
  EXPECT_TRUE(d.parse("[]", 0));
  EXPECT_FALSE(d.parse("[1]", 0));
  EXPECT_TRUE(d.parse("[[]]", 1));
  EXPECT_FALSE(d.parse("[[1]]", 1));
  EXPECT_TRUE(d.parse("[[1]]", 2));
  EXPECT_FALSE(d.parse("{\"a\":{\"b\":{}}}", 1));
  EXPECT_EQ(d.error(), "nesting too deep at byte 10");
  EXPECT_TRUE(d.parse("{\"a\":{\"b\":{}}}", 2));

  // Default limit 64.
  EXPECT_TRUE(d.parse(nested_arrays(65)));
  EXPECT_FALSE(d.parse(nested_arrays(66)));
  EXPECT_EQ(d.error().rfind("nesting too deep", 0), 0u) << d.error();
  std::string deep64 = std::string(64, '[') + "1" + std::string(64, ']');
  std::string deep65 = std::string(65, '[') + "1" + std::string(65, ']');
  EXPECT_TRUE(d.parse(deep64));
  EXPECT_FALSE(d.parse(deep65));
  // Very deep input fails cleanly (no stack exhaustion).
  EXPECT_FALSE(gyre::json::is_valid(nested_arrays(200000)));
}

// --- values -----------------------------------------------------------------

TEST(JsonValue, TypesAndRawSpans) {
  std::string text =
      " { \"n\" : 12345678901234567890 , \"f\": 1.0e2, \"neg\": -0.000,"
      " \"s\": \"a\\u0041\\n\", \"o\": { \"x\" : [1,  2] }, \"t\": true,"
      " \"z\": null } ";
  Document d;
  ASSERT_TRUE(d.parse(text)) << d.error();
  Value r = d.root();
  EXPECT_EQ(r.type(), Type::Object);
  EXPECT_EQ(r.raw(), text.substr(1, text.size() - 2));
  EXPECT_EQ(r.size(), 7u);
  EXPECT_EQ(r["n"].raw(), "12345678901234567890");
  EXPECT_EQ(r["n"].type(), Type::Number);
  EXPECT_EQ(r["f"].raw(), "1.0e2");
  EXPECT_EQ(r["neg"].raw(), "-0.000");
  EXPECT_EQ(r["s"].raw(), "\"a\\u0041\\n\"");
  EXPECT_EQ(r["s"].as_string(), "aA\n");
  EXPECT_EQ(r["o"].raw(), "{ \"x\" : [1,  2] }");
  EXPECT_EQ(r["o"]["x"].raw(), "[1,  2]");
  EXPECT_TRUE(r["t"].is_bool());
  EXPECT_TRUE(r["t"].as_bool());
  EXPECT_TRUE(r["z"].is_null());
  EXPECT_FALSE(r["z"].is_bool());
  EXPECT_FALSE(r["missing"].valid());
  EXPECT_EQ(r["missing"].raw(), "");
  EXPECT_FALSE(r["missing"].is_null());  // absent is not null
  // get on a non-object is invalid.
  EXPECT_FALSE(r["n"]["x"].valid());
  EXPECT_FALSE(r["o"]["x"]["x"].valid());
}

TEST(JsonValue, IterationAndKeys) {
  Document d;
  ASSERT_TRUE(d.parse("{\"a\\u0062\":[1,\"x\",null],\"c\":{}}"));
  Value r = d.root();
  Value m = r.first_child();
  ASSERT_TRUE(m.valid());
  EXPECT_EQ(m.raw_key(), "\"a\\u0062\"");
  EXPECT_EQ(m.key(), "ab");
  EXPECT_EQ(m.size(), 3u);
  Value e = m.first_child();
  EXPECT_EQ(e.raw(), "1");
  e = e.next_sibling();
  EXPECT_EQ(e.raw(), "\"x\"");
  e = e.next_sibling();
  EXPECT_TRUE(e.is_null());
  EXPECT_FALSE(e.next_sibling().valid());
  Value c = m.next_sibling();
  EXPECT_EQ(c.key(), "c");
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.first_child().valid());
  EXPECT_FALSE(c.next_sibling().valid());
  // Escaped keys are found by their unescaped name.
  EXPECT_EQ(r.get("ab").raw(), "[1,\"x\",null]");
  EXPECT_EQ(Value().size(), 0u);
  EXPECT_FALSE(Value().first_child().valid());
}

TEST(JsonValue, GetIgnoreCase) {
  Document d;
  ASSERT_TRUE(d.parse("{\"Channel\":\"a\",\"DATA\":1}"));
  Value r = d.root();
  EXPECT_FALSE(r.get("channel").valid());
  EXPECT_EQ(r.get("Channel").raw(), "\"a\"");
  EXPECT_EQ(r.get("channel", true).raw(), "\"a\"");
  EXPECT_EQ(r.get("CHANNEL", true).raw(), "\"a\"");
  EXPECT_EQ(r.get("data", true).raw(), "1");
  EXPECT_FALSE(r.get("chan", true).valid());
  EXPECT_FALSE(r.get("channels", true).valid());
}

TEST(JsonValue, GetIgnoreCaseDuplicatesLastWins) {
  Document d;
  ASSERT_TRUE(d.parse("{\"a\":1,\"A\":2}"));
  EXPECT_EQ(d.root().get("a", true).raw(), "2");
  ASSERT_TRUE(d.parse("{\"A\":1,\"a\":2}"));
  EXPECT_EQ(d.root().get("a", true).raw(), "2");
  ASSERT_TRUE(d.parse("{\"a\":1,\"b\":0,\"a\":3}"));
  EXPECT_EQ(d.root().get("A", true).raw(), "3");
}

// Go encoding/json semantics (server-api spec §1.4 "Duplicate keys: last
// wins", and the comment in Value::get): also for exact-case lookups.
TEST(JsonValue, GetExactCaseDuplicatesLastWins) {
  Document d;
  ASSERT_TRUE(d.parse("{\"a\":1,\"b\":0,\"a\":2}"));
  EXPECT_EQ(d.root().get("a").raw(), "2");
  EXPECT_EQ(d.root()["a"].raw(), "2");
  EXPECT_EQ(d.root().size(), 3u);
}

TEST(JsonValue, AsInt64) {
  Document d;
  auto i64 = [&](const char *t) {
    EXPECT_TRUE(d.parse(t)) << t;
    return d.root().as_int64();
  };
  EXPECT_EQ(i64("0"), 0);
  EXPECT_EQ(i64("-0"), 0);
  EXPECT_EQ(i64("42"), 42);
  EXPECT_EQ(i64("-42"), -42);
  EXPECT_EQ(i64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(i64("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(i64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(i64("-9223372036854775809"), std::nullopt);
  EXPECT_EQ(i64("1e3"), 1000);
  EXPECT_EQ(i64("2.0"), 2);
  EXPECT_EQ(i64("-1.0e2"), -100);
  EXPECT_EQ(i64("1.5"), std::nullopt);
  EXPECT_EQ(i64("1e300"), std::nullopt);
  EXPECT_EQ(i64("\"1\""), std::nullopt);
  EXPECT_EQ(i64("true"), std::nullopt);
  EXPECT_EQ(i64("null"), std::nullopt);
  EXPECT_EQ(i64("[1]"), std::nullopt);
}

TEST(JsonValue, AsUint64) {
  Document d;
  auto u64 = [&](const char *t) {
    EXPECT_TRUE(d.parse(t)) << t;
    return d.root().as_uint64();
  };
  EXPECT_EQ(u64("0"), 0u);
  EXPECT_EQ(u64("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(u64("12345678901234567890"), 12345678901234567890ull);  // exact
  EXPECT_EQ(u64("18446744073709551616"), std::nullopt);
  EXPECT_EQ(u64("-1"), std::nullopt);
  EXPECT_EQ(u64("-1.0"), std::nullopt);
  EXPECT_EQ(u64("1e19"), 10000000000000000000ull);
  EXPECT_EQ(u64("3.0"), 3u);
  EXPECT_EQ(u64("0.5"), std::nullopt);
  EXPECT_EQ(u64("\"5\""), std::nullopt);
  EXPECT_EQ(u64("false"), std::nullopt);
}

TEST(JsonValue, AsDouble) {
  Document d;
  ASSERT_TRUE(d.parse("[1.5,-2e-3,7,\"1\"]"));
  Value e = d.root().first_child();
  EXPECT_EQ(e.as_double(), 1.5);
  e = e.next_sibling();
  EXPECT_EQ(e.as_double(), -2e-3);
  e = e.next_sibling();
  EXPECT_EQ(e.as_double(), 7.0);
  e = e.next_sibling();
  EXPECT_EQ(e.as_double(), std::nullopt);
}

TEST(JsonValue, StringEquals) {
  Document d;
  ASSERT_TRUE(d.parse("[\"fossil\",\"fo\\u0073sil\",\"x\",1]"));
  Value e = d.root().first_child();
  EXPECT_TRUE(e.string_equals("fossil"));
  EXPECT_FALSE(e.string_equals("fossi"));
  e = e.next_sibling();
  EXPECT_TRUE(e.string_equals("fossil"));
  EXPECT_FALSE(e.string_equals("fo\\u0073sil"));
  e = e.next_sibling();
  EXPECT_FALSE(e.string_equals("fossil"));
  e = e.next_sibling();
  EXPECT_FALSE(e.string_equals("1"));  // not a string
  EXPECT_EQ(e.as_string(), "");
}

// --- unescape -----------------------------------------------------------------

TEST(JsonUnescape, SimpleEscapes) {
  using gyre::json::unescape_string;
  EXPECT_EQ(unescape_string("\"abc\""), "abc");
  EXPECT_EQ(unescape_string("\"\""), "");
  EXPECT_EQ(unescape_string("\""), "");
  EXPECT_EQ(unescape_string(""), "");
  EXPECT_EQ(unescape_string("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(unescape_string("\"h\xC3\xA9\""), "h\xC3\xA9");  // raw UTF-8 kept
}

TEST(JsonUnescape, UnicodeEscapes) {
  using gyre::json::unescape_string;
  EXPECT_EQ(unescape_string("\"\\u0041\""), "A");
  EXPECT_EQ(unescape_string("\"\\u0000\""), std::string(1, '\0'));
  EXPECT_EQ(unescape_string("\"\\u007f\""), "\x7f");
  EXPECT_EQ(unescape_string("\"\\u0080\""), "\xC2\x80");
  EXPECT_EQ(unescape_string("\"\\u00e9\""), "\xC3\xA9");
  EXPECT_EQ(unescape_string("\"\\u07FF\""), "\xDF\xBF");
  EXPECT_EQ(unescape_string("\"\\u0800\""), "\xE0\xA0\x80");
  EXPECT_EQ(unescape_string("\"\\u20AC\""), "\xE2\x82\xAC");
  EXPECT_EQ(unescape_string("\"\\u20ac\""), "\xE2\x82\xAC");
  EXPECT_EQ(unescape_string("\"\\uFFFF\""), "\xEF\xBF\xBF");
}

TEST(JsonUnescape, SurrogatePairs) {
  using gyre::json::unescape_string;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(unescape_string("\"\\ud83d\\ude00\""), "\xF0\x9F\x98\x80");
  EXPECT_EQ(unescape_string("\"\\uD834\\uDD1E\""), "\xF0\x9D\x84\x9E");  // U+1D11E
  EXPECT_EQ(unescape_string("\"\\udbff\\udfff\""), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(unescape_string("\"\\ud800\\udc00\""), "\xF0\x90\x80\x80");  // U+10000
  // Unpaired halves become U+FFFD; what follows is decoded on its own.
  EXPECT_EQ(unescape_string("\"\\ud800\""), fffd);
  EXPECT_EQ(unescape_string("\"\\udc00\""), fffd);
  EXPECT_EQ(unescape_string("\"\\ud800x\""), fffd + "x");
  EXPECT_EQ(unescape_string("\"\\ud800\\u0041\""), fffd + "A");
  EXPECT_EQ(unescape_string("\"\\ud800\\ud800\""), fffd + fffd);
  EXPECT_EQ(unescape_string("\"\\ude00\\ud83d\""), fffd + fffd);
  EXPECT_EQ(unescape_string("\"a\\ud83d\\ude00b\""),
            "a\xF0\x9F\x98\x80"
            "b");
}

// --- writing ----------------------------------------------------------------

TEST(JsonWrite, AppendQuotedEscapes) {
  auto q = [](std::string_view s) {
    std::string out;
    gyre::json::append_quoted(out, s);
    return out;
  };
  EXPECT_EQ(q(""), "\"\"");
  EXPECT_EQ(q("abc"), "\"abc\"");
  EXPECT_EQ(q("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(q("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(q(std::string_view("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(q("/"), "\"/\"");
  EXPECT_EQ(q("\x7f"), "\"\x7f\"");
  EXPECT_EQ(q("h\xC3\xA9 \xF0\x9F\x98\x80"), "\"h\xC3\xA9 \xF0\x9F\x98\x80\"");
  // Appends, never replaces.
  std::string out = "x";
  gyre::json::append_quoted(out, "y");
  EXPECT_EQ(out, "x\"y\"");
  // Round trip through the parser.
  std::string s = std::string("ctl\x01\x02 \"q\" \\ / \n end");
  std::string enc = q(s);
  Document d;
  ASSERT_TRUE(d.parse(enc)) << enc;
  EXPECT_EQ(d.root().as_string(), s);
}

TEST(JsonWrite, RawWithoutNewlines) {
  std::string out = "<";
  gyre::json::append_raw_without_newlines(out, "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n");
  EXPECT_EQ(out, "<{  \"a\": 1,  \"b\": \"x\"}");
  out.clear();
  gyre::json::append_raw_without_newlines(out, "\n\n");
  EXPECT_EQ(out, "");
  out.clear();
  gyre::json::append_raw_without_newlines(out, "12345678901234567890");
  EXPECT_EQ(out, "12345678901234567890");
}

TEST(JsonWrite, WriterCommasAndNesting) {
  std::string out;
  Writer w(out);
  w.begin_object()
      .field("a", "x")
      .field_uint("b", 1)
      .key("c")
      .begin_array()
      .int64(-5)
      .boolean(true)
      .null()
      .string("q\"")
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .uint(7)
      .end_array()
      .field_bool("d", false)
      .field_raw("e", "{\n\"x\": 1\n}")
      .key("f")
      .begin_object()
      .field("g", "")
      .end_object()
      .end_object();
  EXPECT_EQ(out,
            "{\"a\":\"x\",\"b\":1,\"c\":[-5,true,null,\"q\\\"\",{},[],7],"
            "\"d\":false,\"e\":{\"x\": 1},\"f\":{\"g\":\"\"}}");
  EXPECT_TRUE(gyre::json::is_valid(out));
}

TEST(JsonWrite, WriterNumbersAndKeys) {
  std::string out;
  Writer w(out);
  w.begin_array()
      .uint(0)
      .uint(std::numeric_limits<uint64_t>::max())
      .int64(std::numeric_limits<int64_t>::min())
      .int64(0)
      .end_array();
  EXPECT_EQ(out, "[0,18446744073709551615,-9223372036854775808,0]");

  std::string o2;
  Writer w2(o2);
  w2.begin_object().key("k\"\n").raw("[1,\n2]").end_object();
  EXPECT_EQ(o2, "{\"k\\\"\\n\":[1,2]}");

  std::string o3;
  Writer w3(o3);
  w3.begin_object().end_object();
  EXPECT_EQ(o3, "{}");

  std::string o4;
  Writer w4(o4);
  w4.begin_array().begin_array().uint(1).end_array().begin_array().uint(2).end_array().end_array();
  EXPECT_EQ(o4, "[[1],[2]]");
}

}  // namespace

// Small helpers: the server API's glob, secret comparison and error status
// mapping, origin checks, and WebSocket frame headers.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api.h"
#include "frame.h"
#include "origin.h"

namespace {

using gyre::glob_match;

std::optional<bool> G(std::string_view p, std::string_view t) { return glob_match(p, t); }

// --- glob_match -------------------------------------------------------------------

TEST(GlobMatch, Star) {
  EXPECT_EQ(G("*", ""), true);
  EXPECT_EQ(G("*", "anything:at#all"), true);
  EXPECT_EQ(G("news*", "news"), true);
  EXPECT_EQ(G("news*", "news:1"), true);
  EXPECT_EQ(G("news*", "new"), false);
  EXPECT_EQ(G("*news", "breaking-news"), true);
  EXPECT_EQ(G("*news", "news-x"), false);
  EXPECT_EQ(G("*:*", "a:b"), true);
  EXPECT_EQ(G("*:*", ":"), true);
  EXPECT_EQ(G("*:*", "ab"), false);
  EXPECT_EQ(G("a*b*c", "abc"), true);
  EXPECT_EQ(G("a*b*c", "axxbyyc"), true);
  EXPECT_EQ(G("a*b*c", "axxbyyca"), false);
  EXPECT_EQ(G("*a*b", "xxaybzb"), true);  // needs backtracking
  EXPECT_EQ(G("**", "x"), true);
}

TEST(GlobMatch, Literal) {
  EXPECT_EQ(G("", ""), true);
  EXPECT_EQ(G("", "a"), false);
  EXPECT_EQ(G("abc", "abc"), true);
  EXPECT_EQ(G("abc", "abcd"), false);
  EXPECT_EQ(G("abc", "ab"), false);
  EXPECT_EQ(G("ABC", "abc"), false);  // case-sensitive
}

TEST(GlobMatch, Question) {
  EXPECT_EQ(G("?", "a"), true);
  EXPECT_EQ(G("?", ""), false);
  EXPECT_EQ(G("?", "ab"), false);
  EXPECT_EQ(G("a?c", "abc"), true);
  EXPECT_EQ(G("a?c", "ac"), false);
  EXPECT_EQ(G("??", "ab"), true);
  EXPECT_EQ(G("*?", ""), false);
  EXPECT_EQ(G("*?", "x"), true);
}

TEST(GlobMatch, CharacterClasses) {
  EXPECT_EQ(G("[a-z]", "m"), true);
  EXPECT_EQ(G("[a-z]", "a"), true);
  EXPECT_EQ(G("[a-z]", "z"), true);
  EXPECT_EQ(G("[a-z]", "M"), false);
  EXPECT_EQ(G("[a-z]", "1"), false);
  EXPECT_EQ(G("[a-z]", ""), false);
  EXPECT_EQ(G("[a-z]", "ab"), false);
  EXPECT_EQ(G("[abc]", "b"), true);
  EXPECT_EQ(G("[abc]", "d"), false);
  EXPECT_EQ(G("[a-c0-9]", "7"), true);
  EXPECT_EQ(G("[a-c0-9]", "d"), false);
  EXPECT_EQ(G("user[0-9]", "user5"), true);
  EXPECT_EQ(G("user[0-9]*", "user5abc"), true);
  EXPECT_EQ(G("*[0-9]", "abc1"), true);
  EXPECT_EQ(G("*[0-9]", "abc"), false);
  EXPECT_EQ(G("[!x]", "y"), true);
  EXPECT_EQ(G("[!x]", "x"), false);
  EXPECT_EQ(G("[!a-c]", "b"), false);
  EXPECT_EQ(G("[!a-c]", "d"), true);
  EXPECT_EQ(G("[!x]", ""), false);
  EXPECT_EQ(G("[-a]", "-"), true);  // leading '-' is literal
}

TEST(GlobMatch, Alternatives) {
  EXPECT_EQ(G("{a,b}", "a"), true);
  EXPECT_EQ(G("{a,b}", "b"), true);
  EXPECT_EQ(G("{a,b}", "c"), false);
  EXPECT_EQ(G("{a,b}", "ab"), false);
  EXPECT_EQ(G("news:{x,y}*", "news:y12"), true);
  EXPECT_EQ(G("news:{x,y}*", "news:z12"), false);
  EXPECT_EQ(G("pre{1,22}post", "pre22post"), true);
  EXPECT_EQ(G("pre{1,22}post", "pre2post"), false);
  EXPECT_EQ(G("{chat,news}:*", "chat:1"), true);
  EXPECT_EQ(G("{chat,news}:*", "feed:1"), false);
  EXPECT_EQ(G("{a,b}{c,d}", "bd"), true);
  EXPECT_EQ(G("{a,b}{c,d}", "bb"), false);
  EXPECT_EQ(G("{,x}y", "y"), true);
  EXPECT_EQ(G("{,x}y", "xy"), true);
}

TEST(GlobMatch, InvalidPatterns) {
  for (const char *bad :
       {"[", "[a", "[!a", "[]", "[!]", "a[", "{a", "{a,b", "a}", "}", "{a}}", "\\", "a\\"}) {
    EXPECT_EQ(G(bad, "a"), std::nullopt) << bad;
    EXPECT_EQ(G(bad, ""), std::nullopt) << bad;  // reported even for empty text
  }
}

TEST(GlobMatch, Escapes) {
  EXPECT_EQ(G("\\*", "*"), true);
  EXPECT_EQ(G("\\*", "a"), false);
  EXPECT_EQ(G("a\\?", "a?"), true);
  EXPECT_EQ(G("a\\?", "ab"), false);
  EXPECT_EQ(G("\\[x]", "[x]"), true);
  EXPECT_EQ(G("\\\\", "\\"), true);
}

// --- origin -------------------------------------------------------------------------

TEST(Origin, GlobMatchIcase) {
  using gyre::glob_match_icase;
  EXPECT_TRUE(glob_match_icase("*", ""));
  EXPECT_TRUE(glob_match_icase("*", "https://x"));
  EXPECT_TRUE(glob_match_icase("", ""));
  EXPECT_FALSE(glob_match_icase("", "a"));
  EXPECT_TRUE(glob_match_icase("https://*.example.com", "https://app.example.com"));
  EXPECT_TRUE(glob_match_icase("https://*.example.com", "HTTPS://APP.Example.COM"));
  EXPECT_TRUE(glob_match_icase("HTTPS://*.EXAMPLE.COM", "https://a.b.example.com"));
  EXPECT_FALSE(glob_match_icase("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(glob_match_icase("https://*.example.com", "http://app.example.com"));
  EXPECT_FALSE(glob_match_icase("https://*.example.com", "https://app.example.com.evil"));
  EXPECT_TRUE(glob_match_icase("a*b*c", "AxxBxxC"));
  EXPECT_FALSE(glob_match_icase("abc", "abcd"));
  EXPECT_FALSE(glob_match_icase("abcd", "abc"));
  EXPECT_TRUE(glob_match_icase("*a*b", "xxaybzb"));
  EXPECT_TRUE(glob_match_icase("abc**", "abc"));
}

TEST(Origin, CheckOrigin) {
  using gyre::check_origin;
  std::vector<std::string> none;
  EXPECT_TRUE(check_origin(none, "", "host"));                // no Origin header
  EXPECT_FALSE(check_origin(none, "http://a.com", "a.com"));  // empty list rejects
  std::vector<std::string> all = {"*"};
  EXPECT_TRUE(check_origin(all, "http://anything", "x"));
  std::vector<std::string> some = {"http://localhost:3000", "https://*.example.com"};
  EXPECT_TRUE(check_origin(some, "http://localhost:3000", "x"));
  EXPECT_TRUE(check_origin(some, "HTTP://LOCALHOST:3000", "x"));
  EXPECT_FALSE(check_origin(some, "http://localhost:3001", "x"));
  EXPECT_TRUE(check_origin(some, "https://chat.example.com", "x"));
  EXPECT_FALSE(check_origin(some, "https://example.org", "x"));
  EXPECT_TRUE(check_origin(some, "", "x"));
}

// --- secret_equals / api_error_status ---------------------------------------------------

TEST(Api, SecretEquals) {
  using gyre::secret_equals;
  EXPECT_TRUE(secret_equals("", ""));
  EXPECT_TRUE(secret_equals("abc", "abc"));
  EXPECT_FALSE(secret_equals("abc", "abd"));
  EXPECT_FALSE(secret_equals("abc", "ab"));
  EXPECT_FALSE(secret_equals("ab", "abc"));
  EXPECT_FALSE(secret_equals("", "a"));
  EXPECT_FALSE(secret_equals("abc", "ABC"));
  EXPECT_FALSE(secret_equals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_TRUE(secret_equals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  std::string long_a(1000, 'k'), long_b(1000, 'k');
  EXPECT_TRUE(secret_equals(long_a, long_b));
  long_b[999] = 'j';
  EXPECT_FALSE(secret_equals(long_a, long_b));
}

TEST(Api, ErrorStatus) {
  EXPECT_EQ(gyre::api_error_status(102), 404);
  EXPECT_EQ(gyre::api_error_status(104), 404);
  EXPECT_EQ(gyre::api_error_status(107), 400);
  EXPECT_EQ(gyre::api_error_status(108), 400);
  EXPECT_EQ(gyre::api_error_status(112), 416);
  EXPECT_EQ(gyre::api_error_status(113), 409);
  EXPECT_EQ(gyre::api_error_status(100), 500);
  for (uint32_t other : {0u, 101u, 103u, 105u, 106u, 109u, 110u, 111u, 114u, 400u, 1999u}) {
    EXPECT_EQ(gyre::api_error_status(other), 500) << other;
  }
}

// --- WebSocket frames -------------------------------------------------------------------

struct FrameBytes {
  std::string bytes;
  explicit FrameBytes(gyre::Frame *f) {
    gyre::FrameRef ref(f);
    bytes.assign(f->data(), f->size());
  }
  uint8_t at(size_t i) const { return static_cast<uint8_t>(bytes[i]); }
};

void check_text_frame(size_t len, size_t header_len, std::vector<uint8_t> header) {
  std::string payload(len, 'x');
  if (len) payload[len - 1] = 'y';
  FrameBytes f(gyre::make_ws_text_frame(payload));
  ASSERT_EQ(f.bytes.size(), header_len + len) << len;
  ASSERT_EQ(header.size(), header_len);
  for (size_t i = 0; i < header_len; ++i)
    EXPECT_EQ(f.at(i), header[i]) << "len " << len << " byte " << i;
  EXPECT_EQ(f.bytes.substr(header_len), payload);
}

TEST(WsFrame, TextHeaders) {
  check_text_frame(0, 2, {0x81, 0});
  check_text_frame(1, 2, {0x81, 1});
  check_text_frame(125, 2, {0x81, 125});
  check_text_frame(126, 4, {0x81, 126, 0x00, 126});
  check_text_frame(300, 4, {0x81, 126, 0x01, 0x2C});
  check_text_frame(65535, 4, {0x81, 126, 0xFF, 0xFF});
  check_text_frame(65536, 10, {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00});
  check_text_frame(70000, 10, {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70});
}

TEST(WsFrame, Close) {
  FrameBytes f(gyre::make_ws_close_frame(3501, "bad request"));
  ASSERT_EQ(f.bytes.size(), 2u + 2u + 11u);
  EXPECT_EQ(f.at(0), 0x88);
  EXPECT_EQ(f.at(1), 13);
  EXPECT_EQ(f.at(2), 0x0D);  // 3501 = 0x0DAD
  EXPECT_EQ(f.at(3), 0xAD);
  EXPECT_EQ(f.bytes.substr(4), "bad request");

  FrameBytes empty(gyre::make_ws_close_frame(1000, ""));
  ASSERT_EQ(empty.bytes.size(), 4u);
  EXPECT_EQ(empty.at(0), 0x88);
  EXPECT_EQ(empty.at(1), 2);
  EXPECT_EQ(empty.at(2), 0x03);
  EXPECT_EQ(empty.at(3), 0xE8);
}

TEST(WsFrame, CloseReasonTruncatedTo123Bytes) {
  std::string reason(123, 'r');
  FrameBytes exact(gyre::make_ws_close_frame(4000, reason));
  ASSERT_EQ(exact.bytes.size(), 2u + 125u);
  EXPECT_EQ(exact.at(1), 125);
  EXPECT_EQ(exact.bytes.substr(4), reason);

  std::string longer = std::string(123, 'a') + "bcdef";
  FrameBytes cut(gyre::make_ws_close_frame(4000, longer));
  ASSERT_EQ(cut.bytes.size(), 2u + 125u);
  EXPECT_EQ(cut.at(0), 0x88);
  EXPECT_EQ(cut.at(1), 125);  // never an extended length: control frames <= 125
  EXPECT_EQ(cut.at(2), 0x0F);
  EXPECT_EQ(cut.at(3), 0xA0);
  EXPECT_EQ(cut.bytes.substr(4), std::string(123, 'a'));

  FrameBytes huge(gyre::make_ws_close_frame(3000, std::string(100000, 'z')));
  EXPECT_EQ(huge.bytes.size(), 127u);
  EXPECT_EQ(huge.at(1), 125);
}

TEST(WsFrame, FrameRefCounting) {
  gyre::Frame *f = gyre::Frame::copy_of("hello");
  EXPECT_EQ(f->size(), 5u);
  EXPECT_EQ(std::string_view(f->data(), f->size()), "hello");
  f->ref();
  gyre::FrameRef a(f);
  gyre::FrameRef b(f);  // the second reference
  gyre::FrameRef c(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_TRUE(c);
  EXPECT_EQ(c.get(), f);
  b.reset();
  EXPECT_FALSE(b);
  EXPECT_EQ(std::string_view(c.get()->data(), 5), "hello");  // still alive
  gyre::FrameRef d;
  d = std::move(c);
  EXPECT_EQ(d.get(), f);
  EXPECT_FALSE(c);
}

// An escaped brace is a literal character, not an alternative group. Run in
// a child process with a 512 MiB address-space cap: a broken expansion of
// "\\{" can recurse on ever-growing patterns until memory runs out.
TEST(GlobMatchDeathTest, EscapedBraceIsLiteral) {
  EXPECT_EXIT(
      {
        struct rlimit lim;
        lim.rlim_cur = lim.rlim_max = 512u << 20;
        setrlimit(RLIMIT_AS, &lim);
        int bad = 0;
        if (G("a\\{b", "a{b") != std::optional<bool>(true)) bad |= 1;
        if (G("a\\{b", "ab") != std::optional<bool>(false)) bad |= 2;
        if (G("\\{a,b\\}", "{a,b}") != std::optional<bool>(true)) bad |= 4;
        std::fprintf(stderr, "mismatch bits %d\n", bad);
        std::_Exit(bad);
      },
      ::testing::ExitedWithCode(0), "mismatch bits 0");
}

}  // namespace

namespace gyre {
namespace {

TEST(GlobMatchLimits, ExpansionBeyondTheCapIsRefusedNotComputed) {
  std::string p;
  for (int i = 0; i < 26; ++i) p += "{a,b}";  // 2^26 alternatives
  EXPECT_FALSE(glob_match(p, "").has_value());
  std::string ok;
  for (int i = 0; i < 10; ++i) ok += "{a,b}";  // 1024: still allowed
  EXPECT_EQ(glob_match(ok, std::string(10, 'b')), std::optional<bool>(true));
}

}  // namespace
}  // namespace gyre

#include <gtest/gtest.h>

#include <string>

#include "frame.h"
#include "ws_context_pool.h"

namespace gyre {
namespace {

// A masked client frame (mask key 0) with the given opcode, FIN and payload.
std::string client_frame(uint8_t opcode, bool fin, size_t payload_len) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  if (payload_len < 126) {
    f += static_cast<char>(0x80 | payload_len);
  } else if (payload_len <= 0xFFFF) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload_len >> 8);
    f += static_cast<char>(payload_len & 0xFF);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((uint64_t{payload_len} >> (8 * i)) & 0xFF);
  }
  f += std::string(4, '\0');  // mask key
  f += std::string(payload_len, 'x');
  return f;
}

constexpr uint64_t kLimit = 65536;

TEST(ScanFrames, EmptyAndPartialHeadersHoldNothing) {
  EXPECT_EQ(scan_frames("", 0, false, kLimit).complete, 0u);
  std::string f = client_frame(1, true, 10);
  for (size_t cut = 1; cut < f.size(); ++cut)
    EXPECT_EQ(scan_frames(f.data(), cut, false, kLimit).complete, 0u) << "cut at " << cut;
}

TEST(ScanFrames, CompletePrefixOfSeveralFrames) {
  std::string a = client_frame(1, true, 5), b = client_frame(1, true, 300),
              c = client_frame(1, true, 70000 - 1);
  std::string all = a + b + c.substr(0, 100);
  FrameScan s = scan_frames(all.data(), all.size(), false, 200000);
  EXPECT_EQ(s.complete, a.size() + b.size());
  EXPECT_FALSE(s.fragmented);
  std::string whole = a + b + c;
  EXPECT_EQ(scan_frames(whole.data(), whole.size(), false, 200000).complete, whole.size());
}

TEST(ScanFrames, ExtendedLengths) {
  for (size_t n : {125u, 126u, 65535u, 65536u}) {
    std::string f = client_frame(2, true, n);
    EXPECT_EQ(scan_frames(f.data(), f.size(), false, 1 << 20).complete, f.size()) << n;
    EXPECT_EQ(scan_frames(f.data(), f.size() - 1, false, 1 << 20).complete, 0u) << n;
  }
}

TEST(ScanFrames, FragmentationIsTrackedAcrossControlFrames) {
  std::string first = client_frame(1, false, 10);   // text, more to come
  std::string ping = client_frame(9, true, 0);      // control frames interleave
  std::string middle = client_frame(0, false, 10);  // continuation
  std::string last = client_frame(0, true, 10);     // final continuation
  std::string s1 = first + ping + middle;
  FrameScan r = scan_frames(s1.data(), s1.size(), false, kLimit);
  EXPECT_EQ(r.complete, s1.size());
  EXPECT_TRUE(r.fragmented);
  FrameScan r2 = scan_frames(last.data(), last.size(), true, kLimit);
  EXPECT_EQ(r2.complete, last.size());
  EXPECT_FALSE(r2.fragmented);
  // A control frame alone keeps the state it was given.
  EXPECT_TRUE(scan_frames(ping.data(), ping.size(), true, kLimit).fragmented);
}

TEST(ScanFrames, OversizeFrameIsHandedOverAtOnceWithoutBuffering) {
  // Only the header of a 10 MB frame has arrived: all of it goes to wslay,
  // which refuses the frame (close 1009) instead of us waiting for it.
  std::string header = client_frame(1, true, 10 * 1024 * 1024).substr(0, 14);
  FrameScan r = scan_frames(header.data(), header.size(), false, kLimit);
  EXPECT_EQ(r.complete, header.size());
}

TEST(ServerFrames, CloseFrameCarriesCodeAndReason) {
  Frame *f = make_ws_close_frame(3501, "bad request");
  ASSERT_EQ(f->size(), 2u + 2u + 11u);
  auto *p = reinterpret_cast<const uint8_t *>(f->data());
  EXPECT_EQ(p[0], 0x88);
  EXPECT_EQ(p[1], 13);
  EXPECT_EQ((p[2] << 8) | p[3], 3501);
  EXPECT_EQ(std::string(f->data() + 4, 11), "bad request");
  f->unref();
}

}  // namespace
}  // namespace gyre

namespace gyre {
namespace {

TEST(TruncateUtf8, NeverSplitsACharacter) {
  std::string e100;
  for (int i = 0; i < 100; ++i) e100 += "\xC3\xA9";  // é, two bytes each
  std::string_view t = truncate_utf8(e100, 123);
  EXPECT_EQ(t.size(), 122u);  // 61 whole characters, not 61.5
  EXPECT_EQ(truncate_utf8("short", 123), "short");
  EXPECT_EQ(truncate_utf8("abc\xE2\x82\xAC", 5), "abc");  // € is three bytes
}

TEST(ServerFrames, CloseReasonIsCutAtACharacterBoundary) {
  std::string e100;
  for (int i = 0; i < 100; ++i) e100 += "\xC3\xA9";
  Frame *f = make_ws_close_frame(4500, e100);
  EXPECT_EQ(f->size(), 2u + 2u + 122u);
  f->unref();
}

}  // namespace
}  // namespace gyre

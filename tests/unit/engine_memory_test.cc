// The memory engine tested through its real C ABI: dlopen the built plugin,
// drive it with a host API table of our own (fake clock, manual timers, and
// a log of every event and completion), and check the reference semantics
// R1-R11 (shared spec redis-engine.md §2.4).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <gyre/plugin.h>

#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

std::string str(gyre_str s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }
gyre_str gs(std::string_view s) { return {s.data(), s.size()}; }

struct Info {
  std::string user, client, conn_info, chan_info;
};

Info copy_info(const gyre_client_info *i) {
  return {str(i->user), str(i->client), str(i->conn_info), str(i->chan_info)};
}

struct Pub {
  std::string data;
  uint64_t offset = 0;
  int64_t time_ms = 0;
  bool has_info = false;
  Info info;
  std::vector<std::pair<std::string, std::string>> tags;
};

Pub copy_pub(const gyre_publication *p) {
  Pub out;
  out.data = str(p->data);
  out.offset = p->offset;
  out.time_ms = p->time_ms;
  if (p->info) {
    out.has_info = true;
    out.info = copy_info(p->info);
  }
  for (size_t i = 0; i < p->num_tags; ++i)
    out.tags.emplace_back(str(p->tags[i].key), str(p->tags[i].value));
  return out;
}

enum class Ev { kPublication, kJoin, kLeave, kComplete };

struct Event {
  explicit Event(Ev k) : kind(k) {}
  Ev kind;
  std::string channel;
  Pub pub;
  bool has_position = false;
  uint64_t pos_offset = 0;
  std::string pos_epoch;
  bool has_prev = false;
  Pub prev;
  Info info;
  int op_id = 0;
};

struct FakeTimer {
  uint64_t delay_ms;
  bool repeat;
  gyre_callback_fn cb;
  void *arg;
  bool stopped = false;
};

struct FakeHost;

struct FakeOp {
  enum Kind { kNone, kPlain, kPublish, kHistory, kPresence, kStats };
  FakeHost *host = nullptr;
  int id = 0;
  int completions = 0;
  Kind kind = kNone;
  gyre_status status = GYRE_ERR_INTERNAL;
  // publish
  uint64_t offset = 0;
  std::string epoch;
  gyre_suppress_reason suppressed = GYRE_SUPPRESS_NONE;
  // history
  std::vector<Pub> pubs;
  uint64_t top = 0;
  std::string top_epoch;
  // presence
  std::vector<Info> infos;
  uint32_t num_clients = 0, num_users = 0;

  std::vector<uint64_t> offsets() const {
    std::vector<uint64_t> o;
    for (const auto &p : pubs) o.push_back(p.offset);
    return o;
  }
};

struct FakeHost {
  int64_t now = 1'700'000'000'000;
  std::vector<std::unique_ptr<FakeTimer>> timers;
  std::vector<Event> events;
  std::vector<std::pair<gyre_log_level, std::string>> logs;
  std::map<std::string, int64_t> durations;  // config overrides
  const gyre_plugin_descriptor *desc = nullptr;
  std::deque<FakeOp> ops;

  size_t count(Ev kind) const {
    size_t n = 0;
    for (const auto &e : events) n += e.kind == kind;
    return n;
  }
  size_t live_timers() const {
    size_t n = 0;
    for (const auto &t : timers) n += !t->stopped;
    return n;
  }
};

FakeHost *H(gyre_host *h) { return reinterpret_cast<FakeHost *>(h); }
FakeOp *O(gyre_op *op) { return reinterpret_cast<FakeOp *>(op); }

// "10s", "720h", "500ms", or plain ms: enough for the schema defaults.
bool parse_duration(std::string_view s, int64_t *out) {
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    n = n * 10 + (s[i++] - '0');
  if (i == 0) return false;
  std::string_view unit = s.substr(i);
  if (unit.empty() || unit == "ms")
    *out = n;
  else if (unit == "s")
    *out = n * 1000;
  else if (unit == "m")
    *out = n * 60'000;
  else if (unit == "h")
    *out = n * 3'600'000;
  else
    return false;
  return true;
}

// ---- the fake host API ----------------------------------------------------

void h_log(gyre_host *h, gyre_log_level level, gyre_str msg) {
  H(h)->logs.emplace_back(level, str(msg));
}
int64_t h_now(gyre_host *h) { return H(h)->now; }
gyre_timer *h_timer_start(gyre_host *h, uint64_t delay_ms, bool repeat, gyre_callback_fn cb,
                          void *arg) {
  H(h)->timers.push_back(std::make_unique<FakeTimer>(FakeTimer{delay_ms, repeat, cb, arg}));
  return reinterpret_cast<gyre_timer *>(H(h)->timers.back().get());
}
void h_timer_stop(gyre_host *h, gyre_timer *t) {
  bool known = false;
  for (auto &ft : H(h)->timers) {
    if (reinterpret_cast<gyre_timer *>(ft.get()) != t) continue;
    EXPECT_FALSE(ft->stopped) << "timer stopped twice";
    ft->stopped = true;
    known = true;
  }
  EXPECT_TRUE(known) << "timer_stop on an unknown timer";
}
gyre_watch *h_watch_start(gyre_host *, int, int, gyre_watch_fn, void *) {
  ADD_FAILURE() << "the memory engine has no fds to watch";
  return nullptr;
}
void h_watch_update(gyre_host *, gyre_watch *, int) {}
void h_watch_stop(gyre_host *, gyre_watch *) {}
gyre_status h_post(gyre_host *, gyre_callback_fn, void *) {
  ADD_FAILURE() << "the memory engine has no threads to post from";
  return GYRE_ERR_UNAVAILABLE;
}
bool h_get_string(gyre_host *, const char *, gyre_str *) { return false; }
bool h_get_int(gyre_host *, const char *, int64_t *) { return false; }
bool h_get_bool(gyre_host *, const char *, bool *) { return false; }
bool h_get_duration(gyre_host *h, const char *key, int64_t *out) {
  auto it = H(h)->durations.find(key);
  if (it != H(h)->durations.end()) {
    *out = it->second;
    return true;
  }
  // Like the real host: fall back to the plugin's schema default.
  for (const gyre_config_field *f = H(h)->desc->config_schema; f && f->key; ++f) {
    if (std::strcmp(f->key, key) == 0 && f->type == GYRE_CONFIG_DURATION_MS && f->default_value)
      return parse_duration(f->default_value, out);
  }
  return false;
}

FakeOp *begin_completion(gyre_op *op, FakeOp::Kind kind) {
  FakeOp *o = O(op);
  ++o->completions;
  o->kind = kind;
  o->status = GYRE_OK;
  Event e{Ev::kComplete};
  e.op_id = o->id;
  o->host->events.push_back(e);
  return o;
}
void h_complete(gyre_op *op, gyre_status status, gyre_str) {
  begin_completion(op, FakeOp::kPlain)->status = status;
}
void h_complete_publish(gyre_op *op, const gyre_publish_result *r) {
  FakeOp *o = begin_completion(op, FakeOp::kPublish);
  EXPECT_GE(r->size, sizeof(gyre_publish_result));
  o->offset = r->position.offset;
  o->epoch = str(r->position.epoch);
  o->suppressed = r->suppressed;
}
void h_complete_history(gyre_op *op, const gyre_publication *const *pubs, size_t n,
                        const gyre_stream_position *top) {
  FakeOp *o = begin_completion(op, FakeOp::kHistory);
  for (size_t i = 0; i < n; ++i) o->pubs.push_back(copy_pub(pubs[i]));
  o->top = top->offset;
  o->top_epoch = str(top->epoch);
}
void h_complete_presence(gyre_op *op, const gyre_client_info *const *infos, size_t n) {
  FakeOp *o = begin_completion(op, FakeOp::kPresence);
  for (size_t i = 0; i < n; ++i) o->infos.push_back(copy_info(infos[i]));
}
void h_complete_presence_stats(gyre_op *op, uint32_t clients, uint32_t users) {
  FakeOp *o = begin_completion(op, FakeOp::kStats);
  o->num_clients = clients;
  o->num_users = users;
}
void h_handle_publication(gyre_host *h, gyre_str channel, const gyre_publication *pub,
                          const gyre_stream_position *pos, const gyre_publication *prev) {
  Event e{Ev::kPublication};
  e.channel = str(channel);
  e.pub = copy_pub(pub);
  if (pos) {
    e.has_position = true;
    e.pos_offset = pos->offset;
    e.pos_epoch = str(pos->epoch);
  }
  if (prev) {
    e.has_prev = true;
    e.prev = copy_pub(prev);
  }
  H(h)->events.push_back(std::move(e));
}
void h_handle_join(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
  Event e{Ev::kJoin};
  e.channel = str(channel);
  e.info = copy_info(info);
  H(h)->events.push_back(std::move(e));
}
void h_handle_leave(gyre_host *h, gyre_str channel, const gyre_client_info *info) {
  Event e{Ev::kLeave};
  e.channel = str(channel);
  e.info = copy_info(info);
  H(h)->events.push_back(std::move(e));
}

gyre_host_api make_api() {
  gyre_host_api a{};
  a.abi_major = GYRE_ABI_MAJOR;
  a.abi_minor = GYRE_ABI_MINOR;
  a.size = sizeof(gyre_host_api);
  a.log = h_log;
  a.now_ms = h_now;
  a.timer_start = h_timer_start;
  a.timer_stop = h_timer_stop;
  a.watch_start = h_watch_start;
  a.watch_update = h_watch_update;
  a.watch_stop = h_watch_stop;
  a.post = h_post;
  a.config_get_string = h_get_string;
  a.config_get_int = h_get_int;
  a.config_get_bool = h_get_bool;
  a.config_get_duration_ms = h_get_duration;
  a.complete = h_complete;
  a.complete_publish = h_complete_publish;
  a.complete_history = h_complete_history;
  a.complete_presence = h_complete_presence;
  a.complete_presence_stats = h_complete_presence_stats;
  a.handle_publication = h_handle_publication;
  a.handle_join = h_handle_join;
  a.handle_leave = h_handle_leave;
  return a;
}

gyre_publish_options opts(uint32_t size = 10, uint32_t ttl_s = 300, uint32_t meta_ttl_s = 0) {
  gyre_publish_options o{};
  o.size = sizeof(o);
  o.history_size = size;
  o.history_ttl_s = ttl_s;
  o.history_meta_ttl_s = meta_ttl_s;
  return o;
}

gyre_client_info client_info(std::string_view user, std::string_view client,
                             std::string_view conn = {}, std::string_view chan = {}) {
  return {sizeof(gyre_client_info), gs(user), gs(client), gs(conn), gs(chan)};
}

bool is_epoch(const std::string &e) {
  if (e.size() != 8) return false;
  for (char c : e)
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  return true;
}

constexpr int64_t kSec = 1000;

// ---- fixture -----------------------------------------------------------

class EngineMemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    handle_ = dlopen(GYRE_ENGINE_MEMORY_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto entry = reinterpret_cast<gyre_plugin_entry_fn>(dlsym(handle_, GYRE_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr) << dlerror();
    desc_ = entry();
    ASSERT_NE(desc_, nullptr);
  }
  static void TearDownTestSuite() {
    if (handle_) dlclose(handle_);
    handle_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(desc_, nullptr);
    host_.desc = desc_;
    api_ = make_api();
    ASSERT_EQ(desc_->init(&api_, host(), &state_), GYRE_OK);
    ASSERT_NE(state_, nullptr);
    ops_ = desc_->engine;
  }
  void TearDown() override {
    destroy();
    EXPECT_EQ(host_.live_timers(), 0u) << "destroy left a timer running";
  }
  void destroy() {
    if (state_) desc_->destroy(state_);
    state_ = nullptr;
  }
  // Restarts the engine with config overrides.
  void reinit(std::map<std::string, int64_t> durations) {
    destroy();
    host_.durations = std::move(durations);
    ASSERT_EQ(desc_->init(&api_, host(), &state_), GYRE_OK);
  }

  gyre_host *host() { return reinterpret_cast<gyre_host *>(&host_); }
  FakeOp &new_op() {
    FakeOp &o = host_.ops.emplace_back();
    o.host = &host_;
    o.id = static_cast<int>(host_.ops.size());
    return o;
  }
  static gyre_op *op_of(FakeOp &o) { return reinterpret_cast<gyre_op *>(&o); }
  void advance(int64_t ms) { host_.now += ms; }
  // Fires every running timer once, as if its interval had elapsed.
  void fire_timers() {
    for (size_t i = 0; i < host_.timers.size(); ++i) {
      FakeTimer *t = host_.timers[i].get();
      if (!t->stopped) t->cb(t->arg);
    }
  }

  // Each helper checks the op was taken and completed exactly once.
  FakeOp &done(FakeOp &o, gyre_status rc, FakeOp::Kind kind) {
    EXPECT_EQ(rc, GYRE_OK);
    EXPECT_EQ(o.completions, 1);
    EXPECT_EQ(o.kind, kind);
    return o;
  }
  FakeOp &publish(std::string_view ch, std::string_view data, const gyre_publish_options &o,
                  const gyre_client_info *info = nullptr, const std::vector<gyre_tag> &tags = {}) {
    gyre_publication p{};
    p.size = sizeof(p);
    p.data = gs(data);
    p.info = info;
    p.tags = tags.empty() ? nullptr : tags.data();
    p.num_tags = tags.size();
    FakeOp &op = new_op();
    return done(op, ops_->publish(state_, gs(ch), &p, &o, op_of(op)), FakeOp::kPublish);
  }
  FakeOp &history(std::string_view ch, int32_t limit, bool reverse = false, bool has_since = false,
                  uint64_t since = 0, uint32_t meta_ttl_s = 0) {
    gyre_history_filter f{};
    f.size = sizeof(f);
    f.has_since = has_since;
    f.since_offset = since;
    f.limit = limit;
    f.reverse = reverse;
    f.history_meta_ttl_s = meta_ttl_s;
    FakeOp &op = new_op();
    return done(op, ops_->history(state_, gs(ch), &f, op_of(op)), FakeOp::kHistory);
  }
  FakeOp &since(std::string_view ch, uint64_t since, int32_t limit, bool reverse = false) {
    return history(ch, limit, reverse, true, since);
  }
  FakeOp &remove_history(std::string_view ch) {
    FakeOp &op = new_op();
    return done(op, ops_->remove_history(state_, gs(ch), op_of(op)), FakeOp::kPlain);
  }
  FakeOp &presence_add(std::string_view ch, const gyre_client_info &info, uint32_t ttl_s) {
    FakeOp &op = new_op();
    return done(op, ops_->presence_add(state_, gs(ch), &info, ttl_s, op_of(op)), FakeOp::kPlain);
  }
  FakeOp &presence_remove(std::string_view ch, std::string_view client) {
    FakeOp &op = new_op();
    return done(op, ops_->presence_remove(state_, gs(ch), gs(client), gs(""), op_of(op)),
                FakeOp::kPlain);
  }
  FakeOp &presence(std::string_view ch) {
    FakeOp &op = new_op();
    return done(op, ops_->presence_get(state_, gs(ch), op_of(op)), FakeOp::kPresence);
  }
  FakeOp &stats(std::string_view ch) {
    FakeOp &op = new_op();
    return done(op, ops_->presence_stats(state_, gs(ch), op_of(op)), FakeOp::kStats);
  }
  std::vector<const Event *> deliveries() const {
    std::vector<const Event *> out;
    for (const auto &e : host_.events)
      if (e.kind == Ev::kPublication) out.push_back(&e);
    return out;
  }
  std::vector<std::string> debug_logs_with(std::string_view needle) const {
    std::vector<std::string> out;
    for (const auto &[level, msg] : host_.logs)
      if (msg.find(needle) != std::string::npos) out.push_back(msg);
    return out;
  }

  static void *handle_;
  static const gyre_plugin_descriptor *desc_;
  FakeHost host_;
  gyre_host_api api_{};
  void *state_ = nullptr;
  const gyre_engine_ops *ops_ = nullptr;
};

void *EngineMemoryTest::handle_ = nullptr;
const gyre_plugin_descriptor *EngineMemoryTest::desc_ = nullptr;

using V = std::vector<uint64_t>;

// ---- descriptor and lifecycle -------------------------------------------

TEST_F(EngineMemoryTest, Descriptor) {
  EXPECT_EQ(desc_->size, sizeof(gyre_plugin_descriptor));
  EXPECT_EQ(desc_->abi_major, static_cast<uint32_t>(GYRE_ABI_MAJOR));
  EXPECT_EQ(desc_->abi_minor, static_cast<uint32_t>(GYRE_ABI_MINOR));
  EXPECT_STREQ(desc_->name, "engine-memory");
  ASSERT_NE(desc_->version, nullptr);
  ASSERT_NE(desc_->description, nullptr);
  EXPECT_TRUE(desc_->kinds & GYRE_PLUGIN_ENGINE);
  EXPECT_NE(desc_->init, nullptr);
  EXPECT_NE(desc_->destroy, nullptr);

  const gyre_engine_ops *e = desc_->engine;
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size, sizeof(gyre_engine_ops));
  EXPECT_TRUE(e->subscribe && e->unsubscribe && e->publish && e->publish_join && e->publish_leave &&
              e->history && e->remove_history && e->presence_add && e->presence_remove &&
              e->presence_get && e->presence_stats);

  ASSERT_NE(desc_->config_schema, nullptr);
  size_t n = 0;
  bool has_sweep = false;
  for (; n < 64 && desc_->config_schema[n].key; ++n) {
    const gyre_config_field &f = desc_->config_schema[n];
    EXPECT_NE(f.description, nullptr) << f.key;
    EXPECT_TRUE(f.type >= GYRE_CONFIG_STRING && f.type <= GYRE_CONFIG_DURATION_MS) << f.key;
    if (f.type == GYRE_CONFIG_DURATION_MS && f.default_value) {
      int64_t ms;
      EXPECT_TRUE(parse_duration(f.default_value, &ms)) << f.key;
    }
    if (std::string_view(f.key) == "sweep_interval") {
      has_sweep = true;
      EXPECT_EQ(f.type, GYRE_CONFIG_DURATION_MS);
    }
  }
  EXPECT_LT(n, 64u) << "schema is not terminated by a NULL key";
  EXPECT_TRUE(has_sweep);
}

TEST_F(EngineMemoryTest, SweepTimerStartsFromConfigAndStopsOnDestroy) {
  ASSERT_EQ(host_.timers.size(), 1u);
  EXPECT_EQ(host_.timers[0]->delay_ms, 10'000u);  // schema default "10s"
  EXPECT_TRUE(host_.timers[0]->repeat);
  EXPECT_FALSE(host_.timers[0]->stopped);

  reinit({{"sweep_interval", 2500}});
  EXPECT_TRUE(host_.timers[0]->stopped);
  ASSERT_EQ(host_.timers.size(), 2u);
  EXPECT_EQ(host_.timers[1]->delay_ms, 2500u);

  reinit({{"sweep_interval", 0}});
  EXPECT_EQ(host_.live_timers(), 0u);
}

TEST_F(EngineMemoryTest, InitRefusesIncompatibleHostOrBadConfig) {
  gyre_host_api bad = api_;
  bad.abi_major = GYRE_ABI_MAJOR + 1;
  void *st = nullptr;
  EXPECT_NE(desc_->init(&bad, host(), &st), GYRE_OK);
  bad = api_;
  bad.handle_publication = nullptr;
  EXPECT_NE(desc_->init(&bad, host(), &st), GYRE_OK);
  host_.durations["history_meta_ttl"] = -5;
  EXPECT_NE(desc_->init(&api_, host(), &st), GYRE_OK);
  EXPECT_EQ(st, nullptr);
  EXPECT_EQ(host_.live_timers(), 1u);  // only the fixture's engine
}

TEST_F(EngineMemoryTest, InstancesAreIndependent) {
  void *other = nullptr;
  ASSERT_EQ(desc_->init(&api_, host(), &other), GYRE_OK);
  publish("ch", "a", opts());
  FakeOp &op = new_op();
  gyre_history_filter f{sizeof(f), false, 0, -1, false, 0};
  ASSERT_EQ(ops_->history(other, gs("ch"), &f, op_of(op)), GYRE_OK);
  EXPECT_EQ(op.top, 0u);
  EXPECT_TRUE(op.pubs.empty());
  desc_->destroy(other);
}

TEST_F(EngineMemoryTest, SubscribeAndUnsubscribeComplete) {
  FakeOp &a = new_op();
  EXPECT_EQ(ops_->subscribe(state_, gs("ch"), op_of(a)), GYRE_OK);
  FakeOp &b = new_op();
  EXPECT_EQ(ops_->unsubscribe(state_, gs("ch"), op_of(b)), GYRE_OK);
  EXPECT_EQ(a.completions, 1);
  EXPECT_EQ(a.status, GYRE_OK);
  EXPECT_EQ(b.completions, 1);
  EXPECT_EQ(b.status, GYRE_OK);
}

// ---- publish / history basics (R1, R2, R5) ----------------------------------

TEST_F(EngineMemoryTest, OffsetsStartAtOneAndEpochIsStable) {
  std::string epoch;
  for (uint64_t i = 1; i <= 5; ++i) {
    FakeOp &r = publish("ch", "x", opts());
    EXPECT_EQ(r.offset, i);
    EXPECT_EQ(r.suppressed, GYRE_SUPPRESS_NONE);
    EXPECT_TRUE(is_epoch(r.epoch)) << r.epoch;
    if (i == 1) epoch = r.epoch;
    EXPECT_EQ(r.epoch, epoch);
  }
  FakeOp &h = history("ch", -1);
  EXPECT_EQ(h.offsets(), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(h.top, 5u);
  EXPECT_EQ(h.top_epoch, epoch);
  // Another channel has its own stream and (random) epoch.
  FakeOp &other = publish("other", "x", opts());
  EXPECT_EQ(other.offset, 1u);
  EXPECT_NE(other.epoch, epoch);
}

TEST_F(EngineMemoryTest, StoredPublicationIsADeepCopy) {
  std::string data = R"({"v":1})", user = "u1", client = "c1", conn = R"({"c":1})",
              chan = R"({"h":2})", k = "tk", v = "tv";
  gyre_client_info info = client_info(user, client, conn, chan);
  std::vector<gyre_tag> tags{{gs(k), gs(v)}, {gs("k2"), gs("")}};
  gyre_publication p{};
  p.size = sizeof(p);
  p.data = gs(data);
  p.info = &info;
  p.tags = tags.data();
  p.num_tags = tags.size();
  p.offset = 999;  // ignored: the engine assigns offsets
  p.time_ms = 1;
  auto o = opts();
  FakeOp &op = new_op();
  ASSERT_EQ(ops_->publish(state_, gs("ch"), &p, &o, op_of(op)), GYRE_OK);
  const int64_t published_at = host_.now;
  // Scribble over everything the engine was lent.
  for (std::string *s : {&data, &user, &client, &conn, &chan, &k, &v})
    std::fill(s->begin(), s->end(), '#');
  advance(5 * kSec);

  publish("ch", "no-info", opts());
  FakeOp &h = history("ch", -1);
  ASSERT_EQ(h.pubs.size(), 2u);
  const Pub &a = h.pubs[0];
  EXPECT_EQ(a.data, R"({"v":1})");
  EXPECT_EQ(a.offset, 1u);
  EXPECT_EQ(a.time_ms, published_at);
  ASSERT_TRUE(a.has_info);
  EXPECT_EQ(a.info.user, "u1");
  EXPECT_EQ(a.info.client, "c1");
  EXPECT_EQ(a.info.conn_info, R"({"c":1})");
  EXPECT_EQ(a.info.chan_info, R"({"h":2})");
  ASSERT_EQ(a.tags.size(), 2u);
  EXPECT_EQ(a.tags[0], (std::pair<std::string, std::string>{"tk", "tv"}));
  EXPECT_EQ(a.tags[1], (std::pair<std::string, std::string>{"k2", ""}));
  EXPECT_FALSE(h.pubs[1].has_info);
  EXPECT_TRUE(h.pubs[1].tags.empty());
  EXPECT_EQ(h.pubs[1].time_ms, published_at + 5 * kSec);
}

TEST_F(EngineMemoryTest, SizeLimitTrimsExactly) {
  for (int i = 0; i < 5; ++i) publish("ch", std::to_string(i + 1), opts(3));
  FakeOp &h = history("ch", -1);
  EXPECT_EQ(h.offsets(), (V{3, 4, 5}));
  EXPECT_EQ(h.pubs[0].data, "3");
  EXPECT_EQ(h.top, 5u);
  // The limit is per publish: a smaller one trims further.
  publish("ch", "6", opts(1));
  EXPECT_EQ(history("ch", -1).offsets(), (V{6}));
  // Many more than the ring's initial capacity, with a growing limit.
  for (int i = 0; i < 100; ++i) publish("ch", "x", opts(50));
  FakeOp &big = history("ch", -1);
  ASSERT_EQ(big.pubs.size(), 50u);
  EXPECT_EQ(big.pubs.front().offset, 57u);
  EXPECT_EQ(big.pubs.back().offset, 106u);
}

TEST_F(EngineMemoryTest, HistoryOnUnknownChannelCreatesStream) {
  FakeOp &a = history("new", -1);
  EXPECT_EQ(a.top, 0u);
  EXPECT_TRUE(a.pubs.empty());
  EXPECT_TRUE(is_epoch(a.top_epoch)) << a.top_epoch;
  FakeOp &b = history("new", 0);
  EXPECT_EQ(b.top, 0u);
  EXPECT_EQ(b.top_epoch, a.top_epoch);
  FakeOp &p = publish("new", "x", opts());
  EXPECT_EQ(p.offset, 1u);
  EXPECT_EQ(p.epoch, a.top_epoch);
}

// ---- TTLs (R3, R4) --------------------------------------------------------

TEST_F(EngineMemoryTest, HistoryTtlDropsItemsButKeepsTopAndEpoch) {
  std::string epoch;
  for (int i = 0; i < 5; ++i) epoch = publish("ch", "x", opts(10, 2)).epoch;
  advance(2 * kSec - 1);
  EXPECT_EQ(history("ch", -1).offsets(), (V{1, 2, 3, 4, 5}));
  advance(1);
  FakeOp &h = history("ch", -1);
  EXPECT_TRUE(h.pubs.empty());
  EXPECT_EQ(h.top, 5u);
  EXPECT_EQ(h.top_epoch, epoch);
  FakeOp &p = publish("ch", "x", opts(10, 2));
  EXPECT_EQ(p.offset, 6u);
  EXPECT_EQ(p.epoch, epoch);
  EXPECT_EQ(history("ch", -1).offsets(), (V{6}));
}

TEST_F(EngineMemoryTest, HistoryTtlIsAnInactivityTtl) {
  publish("ch", "x", opts(10, 2));
  advance(1500);
  publish("ch", "x", opts(10, 2));  // pushes expiry for all items
  advance(1500);
  EXPECT_EQ(history("ch", -1).offsets(), (V{1, 2}));
  advance(500);
  EXPECT_TRUE(history("ch", -1).pubs.empty());
}

TEST_F(EngineMemoryTest, MetaTtlExpiryStartsNewEpoch) {
  // Spec black-box case 5.
  std::string epoch;
  for (int i = 0; i < 5; ++i) epoch = publish("ch", "x", opts(10, 2, 10)).epoch;
  advance(3 * kSec);
  FakeOp &h = history("ch", -1, false, false, 0, 10);  // refreshes meta
  EXPECT_TRUE(h.pubs.empty());
  EXPECT_EQ(h.top, 5u);
  EXPECT_EQ(h.top_epoch, epoch);
  advance(10 * kSec - 1);
  EXPECT_EQ(history("ch", 0, false, false, 0, 10).top_epoch, epoch);
  advance(10 * kSec);  // untouched for the whole meta TTL
  FakeOp &gone = history("ch", -1);
  EXPECT_EQ(gone.top, 0u);
  EXPECT_TRUE(is_epoch(gone.top_epoch));
  EXPECT_NE(gone.top_epoch, epoch);
  FakeOp &p = publish("ch", "x", opts(10, 2, 10));
  EXPECT_EQ(p.offset, 1u);
  EXPECT_EQ(p.epoch, gone.top_epoch);
}

TEST_F(EngineMemoryTest, MetaTtlIsRefreshedByPublish) {
  std::string epoch = publish("ch", "x", opts(10, 60, 10)).epoch;
  advance(9 * kSec);
  publish("ch", "x", opts(10, 60, 10));
  advance(9 * kSec);
  FakeOp &p = publish("ch", "x", opts(10, 60, 10));
  EXPECT_EQ(p.offset, 3u);
  EXPECT_EQ(p.epoch, epoch);
  advance(10 * kSec);
  FakeOp &q = publish("ch", "x", opts(10, 60, 10));
  EXPECT_EQ(q.offset, 1u);
  EXPECT_NE(q.epoch, epoch);
}

TEST_F(EngineMemoryTest, MetaTtlFromHistoryFilterOnNewStream) {
  std::string epoch = history("ch", 0, false, false, 0, 5).top_epoch;
  advance(5 * kSec - 1);
  EXPECT_EQ(history("ch", 0, false, false, 0, 5).top_epoch, epoch);
  advance(5 * kSec);
  EXPECT_NE(history("ch", 0).top_epoch, epoch);
}

TEST_F(EngineMemoryTest, DefaultMetaTtlIs720hAndConfigurable) {
  // Every probe refreshes the meta TTL, so each deadline gets its own
  // channel: "a" is probed just before it, "b" exactly at it.
  std::string ea = publish("a", "x", opts(10, 60, 0)).epoch;
  std::string eb = publish("b", "x", opts(10, 60, 0)).epoch;
  advance(2'592'000 * kSec - 1);
  EXPECT_EQ(history("a", 0).top_epoch, ea);
  advance(1);
  EXPECT_NE(history("b", 0).top_epoch, eb);

  reinit({{"history_meta_ttl", 60 * kSec}});
  ea = publish("a", "x", opts(10, 300, 0)).epoch;
  eb = history("b", 0).top_epoch;  // history with 0 uses the default too
  advance(60 * kSec - 1);
  EXPECT_EQ(publish("a", "x", opts(10, 300, 0)).epoch, ea);
  advance(1);
  EXPECT_NE(history("b", 0).top_epoch, eb);
}

// ---- R7: the filter table ---------------------------------------------------

TEST_F(EngineMemoryTest, FilterTable) {
  for (int i = 0; i < 5; ++i) publish("ch", "x", opts(10));
  // Limit 0: position only, whatever else is asked.
  for (bool rev : {false, true}) {
    FakeOp &h = history("ch", 0, rev);
    EXPECT_TRUE(h.pubs.empty());
    EXPECT_EQ(h.top, 5u);
    EXPECT_TRUE(since("ch", 2, 0, rev).pubs.empty());
  }
  // No since, forward / reverse.
  EXPECT_EQ(history("ch", -1).offsets(), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(history("ch", 2).offsets(), (V{1, 2}));
  EXPECT_EQ(history("ch", 10).offsets(), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(history("ch", -1, true).offsets(), (V{5, 4, 3, 2, 1}));
  EXPECT_EQ(history("ch", 2, true).offsets(), (V{5, 4}));
  // Since, forward: strictly after, oldest first.
  EXPECT_EQ(since("ch", 2, -1).offsets(), (V{3, 4, 5}));
  EXPECT_EQ(since("ch", 2, 2).offsets(), (V{3, 4}));
  EXPECT_EQ(since("ch", 0, -1).offsets(), (V{1, 2, 3, 4, 5}));
  EXPECT_TRUE(since("ch", 5, -1).pubs.empty());  // at top
  EXPECT_TRUE(since("ch", 9, -1).pubs.empty());  // beyond top
  EXPECT_EQ(since("ch", 5, -1).top, 5u);
  // Since, reverse: strictly before, newest first.
  EXPECT_EQ(since("ch", 4, -1, true).offsets(), (V{3, 2, 1}));
  EXPECT_EQ(since("ch", 4, 2, true).offsets(), (V{3, 2}));
  EXPECT_EQ(since("ch", 6, -1, true).offsets(), (V{5, 4, 3, 2, 1}));
  EXPECT_EQ(since("ch", 2, -1, true).offsets(), (V{1}));
  EXPECT_TRUE(since("ch", 1, -1, true).pubs.empty());
  EXPECT_TRUE(since("ch", 0, -1, true).pubs.empty());
  EXPECT_TRUE(since("ch", 7, -1, true).pubs.empty());  // since > top+1
}

TEST_F(EngineMemoryTest, FilterWhenSinceIsNoLongerRetained) {
  for (int i = 0; i < 5; ++i) publish("ch", "x", opts(3));  // keeps 3,4,5
  // Forward: start at the oldest retained item; the caller sees the gap.
  EXPECT_EQ(since("ch", 0, -1).offsets(), (V{3, 4, 5}));
  EXPECT_EQ(since("ch", 1, -1).offsets(), (V{3, 4, 5}));
  EXPECT_EQ(since("ch", 1, 2).offsets(), (V{3, 4}));
  EXPECT_EQ(since("ch", 3, -1).offsets(), (V{4, 5}));
  // Reverse: since-1 gone means nothing (memory-engine semantics).
  EXPECT_TRUE(since("ch", 3, -1, true).pubs.empty());
  EXPECT_TRUE(since("ch", 2, -1, true).pubs.empty());
  EXPECT_EQ(since("ch", 5, -1, true).offsets(), (V{4, 3}));
  EXPECT_EQ(since("ch", 5, 1, true).offsets(), (V{4}));
  // Nothing retained at all.
  remove_history("ch");
  EXPECT_TRUE(since("ch", 1, -1).pubs.empty());
  EXPECT_TRUE(history("ch", -1, true).pubs.empty());
}

// ---- R6 -------------------------------------------------------------------

TEST_F(EngineMemoryTest, RemoveHistoryKeepsTopAndEpoch) {
  std::string epoch;
  for (int i = 0; i < 3; ++i) epoch = publish("ch", "x", opts()).epoch;
  remove_history("ch");
  FakeOp &h = history("ch", -1);
  EXPECT_TRUE(h.pubs.empty());
  EXPECT_EQ(h.top, 3u);
  EXPECT_EQ(h.top_epoch, epoch);
  FakeOp &p = publish("ch", "x", opts());
  EXPECT_EQ(p.offset, 4u);
  EXPECT_EQ(p.epoch, epoch);
  EXPECT_EQ(history("ch", -1).offsets(), (V{4}));
  remove_history("never-seen");  // completes OK too
}

// ---- R8: idempotency ------------------------------------------------------

TEST_F(EngineMemoryTest, IdempotentPublish) {
  auto o = opts();
  o.idempotency_key = gs("key-1");
  FakeOp &first = publish("ch", "x", o);
  EXPECT_EQ(first.offset, 1u);
  EXPECT_EQ(first.suppressed, GYRE_SUPPRESS_NONE);
  advance(299 * kSec);
  FakeOp &again = publish("ch", "x", o);
  EXPECT_EQ(again.offset, 1u);
  EXPECT_EQ(again.epoch, first.epoch);
  EXPECT_EQ(again.suppressed, GYRE_SUPPRESS_IDEMPOTENCY);
  EXPECT_EQ(deliveries().size(), 1u);
  EXPECT_EQ(history("ch", -1).offsets(), (V{1}));
  // Keys are per channel, and other keys are independent.
  EXPECT_EQ(publish("other", "x", o).suppressed, GYRE_SUPPRESS_NONE);
  auto o2 = opts();
  o2.idempotency_key = gs("key-2");
  EXPECT_EQ(publish("ch", "x", o2).offset, 2u);
  // Default result TTL is 300 s.
  advance(1 * kSec);
  FakeOp &later = publish("ch", "x", o);
  EXPECT_EQ(later.suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(later.offset, 3u);
}

TEST_F(EngineMemoryTest, IdempotentResultTtlFromOptions) {
  auto o = opts();
  o.idempotency_key = gs("k");
  o.idempotent_result_ttl_s = 10;
  publish("ch", "x", o);
  advance(10 * kSec - 1);
  EXPECT_EQ(publish("ch", "x", o).suppressed, GYRE_SUPPRESS_IDEMPOTENCY);
  advance(1);
  FakeOp &p = publish("ch", "x", o);
  EXPECT_EQ(p.suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(p.offset, 2u);
  EXPECT_EQ(deliveries().size(), 2u);
}

TEST_F(EngineMemoryTest, IdempotentPublishWithoutHistory) {
  auto o = opts(0, 0);
  o.idempotency_key = gs("k");
  FakeOp &a = publish("ch", "x", o);
  FakeOp &b = publish("ch", "x", o);
  EXPECT_EQ(a.suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(b.suppressed, GYRE_SUPPRESS_IDEMPOTENCY);
  EXPECT_EQ(b.offset, 0u);
  EXPECT_EQ(b.epoch, "");
  EXPECT_EQ(deliveries().size(), 1u);
}

// ---- R9: versions ---------------------------------------------------------

TEST_F(EngineMemoryTest, VersionSuppression) {
  auto v = [](uint64_t version, std::string_view ve = {}) {
    auto o = opts();
    o.version = version;
    o.version_epoch = gs(ve);
    return o;
  };
  FakeOp &p5 = publish("ch", "v5", v(5, "e1"));
  EXPECT_EQ(p5.offset, 1u);
  FakeOp &p4 = publish("ch", "v4", v(4, "e1"));
  EXPECT_EQ(p4.suppressed, GYRE_SUPPRESS_VERSION);
  EXPECT_EQ(p4.offset, 1u);  // current top
  EXPECT_EQ(p4.epoch, p5.epoch);
  EXPECT_EQ(publish("ch", "v5", v(5, "e1")).suppressed, GYRE_SUPPRESS_VERSION);
  // An empty version epoch matches any stored one.
  EXPECT_EQ(publish("ch", "v3", v(3)).suppressed, GYRE_SUPPRESS_VERSION);
  EXPECT_EQ(deliveries().size(), 1u);
  EXPECT_EQ(history("ch", -1).offsets(), (V{1}));

  FakeOp &p6 = publish("ch", "v6", v(6, "e1"));
  EXPECT_EQ(p6.suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(p6.offset, 2u);
  // A different version epoch starts over.
  FakeOp &other = publish("ch", "v4b", v(4, "e2"));
  EXPECT_EQ(other.suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(other.offset, 3u);
  EXPECT_EQ(publish("ch", "v4b", v(4, "e2")).suppressed, GYRE_SUPPRESS_VERSION);
  // A publish without version resets the stored version (memory engine).
  EXPECT_EQ(publish("ch", "plain", opts()).offset, 4u);
  EXPECT_EQ(publish("ch", "v1", v(1)).offset, 5u);
  EXPECT_EQ(deliveries().size(), 5u);
}

// ---- delivery (R1 without history, R10, R11) --------------------------------

TEST_F(EngineMemoryTest, PublishWithoutHistoryIsDeliveredNotStored) {
  for (auto o : {opts(0, 300), opts(10, 0)}) {
    FakeOp &r = publish("ch", "live", o);
    EXPECT_EQ(r.offset, 0u);
    EXPECT_EQ(r.epoch, "");
    EXPECT_EQ(r.suppressed, GYRE_SUPPRESS_NONE);
  }
  auto d = deliveries();
  ASSERT_EQ(d.size(), 2u);
  for (const Event *e : d) {
    EXPECT_EQ(e->channel, "ch");
    EXPECT_EQ(e->pub.data, "live");
    EXPECT_EQ(e->pub.offset, 0u);
    EXPECT_EQ(e->pub.time_ms, host_.now);
    EXPECT_EQ(e->pos_offset, 0u);
    EXPECT_EQ(e->pos_epoch, "");
    EXPECT_FALSE(e->has_prev);
  }
  FakeOp &h = history("ch", -1);
  EXPECT_EQ(h.top, 0u);
  EXPECT_TRUE(h.pubs.empty());
}

TEST_F(EngineMemoryTest, DeliveryPrecedesCompletionInOffsetOrder) {
  gyre_client_info info = client_info("u", "c");
  for (int i = 1; i <= 3; ++i) publish("ch", std::to_string(i), opts(), &info);
  ASSERT_EQ(host_.events.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    const Event &pub = host_.events[2 * i];
    const Event &done = host_.events[2 * i + 1];
    ASSERT_EQ(pub.kind, Ev::kPublication);
    ASSERT_EQ(done.kind, Ev::kComplete);
    const FakeOp &op = host_.ops[static_cast<size_t>(done.op_id - 1)];
    EXPECT_EQ(pub.pub.offset, i + 1);
    EXPECT_EQ(pub.pub.data, std::to_string(i + 1));
    EXPECT_EQ(pub.pub.info.client, "c");
    EXPECT_TRUE(pub.has_position);
    EXPECT_EQ(pub.pos_offset, op.offset);
    EXPECT_EQ(pub.pos_epoch, op.epoch);
    EXPECT_FALSE(pub.has_prev);  // no use_delta
  }
}

TEST_F(EngineMemoryTest, UseDeltaPassesPreviousPublication) {
  auto o = opts(1, 2);  // size 1: the previous item is trimmed by the append
  o.use_delta = true;
  publish("ch", "first", o);
  publish("ch", "second", o);
  auto d = deliveries();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FALSE(d[0]->has_prev);
  ASSERT_TRUE(d[1]->has_prev);
  EXPECT_EQ(d[1]->prev.data, "first");
  EXPECT_EQ(d[1]->prev.offset, 1u);
  EXPECT_EQ(d[1]->pub.data, "second");
  // Without use_delta: no prev. After the items expired: nothing to diff.
  publish("ch", "third", opts(1, 2));
  advance(2 * kSec);
  publish("ch", "fourth", o);
  d = deliveries();
  ASSERT_EQ(d.size(), 4u);
  EXPECT_FALSE(d[2]->has_prev);
  EXPECT_FALSE(d[3]->has_prev);
  EXPECT_EQ(d[3]->pub.offset, 4u);
}

TEST_F(EngineMemoryTest, JoinAndLeaveAreDelivered) {
  gyre_client_info info = client_info("u1", "c1", "{}", R"({"x":1})");
  FakeOp &j = new_op();
  ASSERT_EQ(ops_->publish_join(state_, gs("ch"), &info, op_of(j)), GYRE_OK);
  FakeOp &l = new_op();
  ASSERT_EQ(ops_->publish_leave(state_, gs("ch"), &info, op_of(l)), GYRE_OK);
  ASSERT_EQ(host_.events.size(), 4u);
  EXPECT_EQ(host_.events[0].kind, Ev::kJoin);
  EXPECT_EQ(host_.events[0].channel, "ch");
  EXPECT_EQ(host_.events[0].info.user, "u1");
  EXPECT_EQ(host_.events[0].info.client, "c1");
  EXPECT_EQ(host_.events[0].info.chan_info, R"({"x":1})");
  EXPECT_EQ(host_.events[1].kind, Ev::kComplete);
  EXPECT_EQ(host_.events[2].kind, Ev::kLeave);
  EXPECT_EQ(host_.events[2].info.client, "c1");
  EXPECT_EQ(j.completions, 1);
  EXPECT_EQ(j.status, GYRE_OK);
  EXPECT_EQ(l.completions, 1);
  EXPECT_EQ(l.status, GYRE_OK);
}

TEST_F(EngineMemoryTest, BadArgumentsAreRefusedWithoutCompleting) {
  FakeOp &op = new_op();
  gyre_op *o = op_of(op);
  auto po = opts();
  gyre_publication p{sizeof(p), gs("x"), 0, nullptr, nullptr, 0, 0};
  gyre_history_filter f{sizeof(f), false, 0, -1, false, 0};
  EXPECT_EQ(ops_->publish(state_, gs("ch"), &p, nullptr, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->publish(state_, gs("ch"), nullptr, &po, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->publish(state_, gs("ch"), &p, &po, nullptr), GYRE_ERR_INVALID);
  gyre_publication bad_tags = p;
  bad_tags.num_tags = 2;  // but tags is NULL
  EXPECT_EQ(ops_->publish(state_, gs("ch"), &bad_tags, &po, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->publish(state_, gyre_str{nullptr, 3}, &p, &po, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->history(state_, gs("ch"), nullptr, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->history(state_, gs("ch"), &f, nullptr), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->publish_join(state_, gs("ch"), nullptr, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->publish_leave(state_, gs("ch"), nullptr, o), GYRE_ERR_INVALID);
  EXPECT_EQ(ops_->presence_add(state_, gs("ch"), nullptr, 60, o), GYRE_ERR_INVALID);
  EXPECT_EQ(op.completions, 0);
  EXPECT_TRUE(host_.events.empty());
  // Nothing was stored either.
  EXPECT_EQ(history("ch", -1).top, 0u);
}

// ---- presence -------------------------------------------------------------

TEST_F(EngineMemoryTest, PresenceAddGetStatsRemove) {
  presence_add("ch", client_info("u", "c1", R"({"n":1})", "{}"), 60);
  presence_add("ch", client_info("u", "c2"), 60);
  presence_add("ch", client_info("v", "c3"), 60);
  presence_add("other", client_info("w", "c9"), 60);
  FakeOp &s = stats("ch");
  EXPECT_EQ(s.num_clients, 3u);
  EXPECT_EQ(s.num_users, 2u);
  FakeOp &g = presence("ch");
  ASSERT_EQ(g.infos.size(), 3u);
  std::map<std::string, Info> by_client;
  for (const auto &i : g.infos) by_client[i.client] = i;
  EXPECT_EQ(by_client["c1"].user, "u");
  EXPECT_EQ(by_client["c1"].conn_info, R"({"n":1})");
  EXPECT_EQ(by_client["c1"].chan_info, "{}");
  EXPECT_EQ(by_client["c3"].user, "v");

  presence_remove("ch", "c2");
  EXPECT_EQ(stats("ch").num_clients, 2u);
  EXPECT_EQ(stats("ch").num_users, 2u);
  presence_remove("ch", "c1");
  EXPECT_EQ(stats("ch").num_clients, 1u);
  EXPECT_EQ(stats("ch").num_users, 1u);
  FakeOp &left = presence("ch");
  ASSERT_EQ(left.infos.size(), 1u);
  EXPECT_EQ(left.infos[0].client, "c3");
  presence_remove("ch", "missing");  // completes OK
  presence_remove("ch", "c3");
  EXPECT_TRUE(presence("ch").infos.empty());
  EXPECT_EQ(stats("ch").num_clients, 0u);
  EXPECT_EQ(stats("other").num_clients, 1u);
  EXPECT_TRUE(presence("never-seen").infos.empty());
}

TEST_F(EngineMemoryTest, PresenceCountsAnonymousUsersAsOneUser) {
  presence_add("ch", client_info("", "a1"), 60);
  presence_add("ch", client_info("", "a2"), 60);
  presence_add("ch", client_info("u", "c1"), 60);
  FakeOp &s = stats("ch");
  EXPECT_EQ(s.num_clients, 3u);
  EXPECT_EQ(s.num_users, 2u);
}

TEST_F(EngineMemoryTest, PresenceExpiresAndRefreshes) {
  presence_add("ch", client_info("u", "c1"), 3);
  presence_add("ch", client_info("u", "c2"), 3);
  advance(2 * kSec);
  presence_add("ch", client_info("u2", "c1", "{}"), 3);  // refresh + update
  advance(1 * kSec);                                     // c2 is now 3 s old
  FakeOp &g = presence("ch");
  ASSERT_EQ(g.infos.size(), 1u);
  EXPECT_EQ(g.infos[0].client, "c1");
  EXPECT_EQ(g.infos[0].user, "u2");
  EXPECT_EQ(g.infos[0].conn_info, "{}");
  advance(2 * kSec - 1);
  EXPECT_EQ(stats("ch").num_clients, 1u);
  advance(1);
  FakeOp &s = stats("ch");
  EXPECT_EQ(s.num_clients, 0u);
  EXPECT_EQ(s.num_users, 0u);

  // The usual refresh repeats the very same info.
  presence_add("ch", client_info("u", "c1"), 3);
  advance(2 * kSec);
  presence_add("ch", client_info("u", "c1"), 3);
  advance(2 * kSec);
  EXPECT_EQ(presence("ch").infos.size(), 1u);
  advance(1 * kSec);
  EXPECT_TRUE(presence("ch").infos.empty());
}

// ---- sweep ----------------------------------------------------------------

TEST_F(EngineMemoryTest, SweepFreesExpiredState) {
  auto o = opts(10, 1, 5);
  o.idempotency_key = gs("k");
  o.idempotent_result_ttl_s = 2;
  std::string epoch = publish("gone", "x", o).epoch;
  publish("kept", "x", opts(10, 1, 3600));
  presence_add("ch", client_info("u", "c1"), 1);
  presence_add("ch", client_info("u", "c2"), 0);  // no expiry

  fire_timers();  // nothing expired yet: the sweep stays quiet
  EXPECT_TRUE(debug_logs_with("sweep:").empty());

  advance(6 * kSec);
  fire_timers();
  auto logs = debug_logs_with("sweep:");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("streams_removed=1 "), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("streams_cleared=1 "), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("idempotency_removed=1 "), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("presence_removed=1"), std::string::npos) << logs[0];

  fire_timers();  // everything expired is already gone
  EXPECT_EQ(debug_logs_with("sweep:").size(), 1u);

  // And the engine behaves as if it had expired lazily.
  FakeOp &h = history("gone", -1);
  EXPECT_EQ(h.top, 0u);
  EXPECT_NE(h.top_epoch, epoch);
  FakeOp &k = history("kept", -1);
  EXPECT_EQ(k.top, 1u);
  EXPECT_TRUE(k.pubs.empty());
  EXPECT_EQ(publish("gone", "x", o).suppressed, GYRE_SUPPRESS_NONE);
  EXPECT_EQ(stats("ch").num_clients, 1u);
}

}  // namespace

#include "controller.h"

#include <openssl/evp.h>

#include <algorithm>
#include <set>

#include "api.h"
#include "client.h"
#include "log.h"
#include "node.h"
#include "store_service.h"

namespace gyre {

namespace {
// Position checks: channels whose top is read in one batch (one loop turn
// issues at most this many engine calls).
constexpr size_t kCheckBatch = 256;
// Surveys in flight; more fail at once rather than pile up.
constexpr size_t kMaxSurveys = 1024;
}  // namespace

// --- Controller ----------------------------------------------------------------

struct Controller::Survey {
  std::unordered_set<std::string> waiting;  // live nodes that have not answered
  std::map<std::string, uint64_t> totals;
  bool local_done = false;
  int64_t deadline_ms = 0;  // mono
  ChannelsDone done;
};

namespace {

std::string channels_json(const std::map<std::string, uint64_t> &totals) {
  std::string out;
  json::Writer w(out);
  w.begin_object().key("channels").begin_object();
  for (const auto &[name, n] : totals)
    w.key(name).begin_object().field_uint("num_clients", n).end_object();
  w.end_object().end_object();
  return out;
}

}  // namespace

Controller::Controller(Node &node) : node_(node) {
  Loop &loop = node_.loop();
  heartbeat_timer_.init(loop, [this] { heartbeat(); });
  inbox_timer_.init(loop, [this] {
    std::vector<ControlMessage> batch;
    batch.swap(inbox_);
    for (auto &m : batch) process(m);
  });
  shutdown_timer_.init(loop, [this] { shutdown_done(); });
  survey_timer_.init(loop, [this] { expire_surveys(); });
  check_timer_.init(loop, [this] { pump_checks(); });
  periodic_timer_.init(loop, [this] { check_all_positioned(); });
}

Controller::~Controller() = default;

void Controller::start() {
  enabled_ = node_.engine().has_control();
  if (!enabled_) return;
  heartbeat();
  heartbeat_timer_.start_ms(kHeartbeatMs, true);
  int64_t delay = node_.config().channel_position_check_delay_ms;
  if (delay > 0) periodic_timer_.start_ms(delay, true);
}

void Controller::shutdown(std::function<void()> sent) {
  stopped_ = true;
  heartbeat_timer_.stop();
  periodic_timer_.stop();
  check_timer_.stop();
  inbox_timer_.stop();
  inbox_.clear();
  if (!enabled_) return sent();
  shutdown_sent_ = std::move(sent);
  ControlMessage m;
  m.type = ControlType::Shutdown;
  publish("", m, [this](bool) { shutdown_done(); });
  if (shutdown_sent_) shutdown_timer_.start_ms(500);
}

void Controller::shutdown_done() {
  shutdown_timer_.stop();
  if (!shutdown_sent_) return;
  auto sent = std::move(shutdown_sent_);
  shutdown_sent_ = nullptr;
  sent();
}

void Controller::publish(std::string_view node, ControlMessage &m, std::function<void(bool)> cb) {
  m.uid = node_.uid();
  std::string bytes = encode_control(m);
  if (bytes.size() > kMaxControlBytes) {
    LOG_WARN("control: %s message of %zu bytes is over the %zu-byte limit, not sent",
             control_type_name(m.type), bytes.size(), kMaxControlBytes);
    return cb(false);
  }
  std::weak_ptr<char> life = life_;
  node_.engine().publish_control(
      node, bytes, [life, cb = std::move(cb), type = m.type](const OpResult &r) {
        if (life.expired()) return;
        if (r.status != GYRE_OK)
          LOG_DEBUG("control: %s message not sent: %.*s", control_type_name(type),
                    static_cast<int>(r.message.size()), r.message.data());
        cb(r.status == GYRE_OK);
      });
}

NodeInfo Controller::local_info() const {
  NodeInfo n;
  n.uid = node_.uid();
  n.name = node_.name();
  n.version = node_.version() + " OSS";
  n.num_clients = node_.registry().num_clients();
  n.num_users = node_.registry().num_users();
  n.num_channels = node_.num_channels();
  // A worker's subscription count is an atomic: read without a round trip.
  for (size_t i = 0; i < node_.num_workers(); ++i)
    n.num_subs += node_.worker(i).hub().num_subscriptions();
  int64_t uptime = (node_.loop().now_ms() - node_.started_at_ms()) / 1000;
  n.uptime = uptime > 0 ? static_cast<uint64_t>(uptime) : 0;
  return n;
}

std::vector<NodeInfo> Controller::nodes() const {
  std::vector<NodeInfo> out{local_info()};
  if (!enabled_) return out;
  for (auto &n : registry_.live(node_.loop().mono_ms()))
    if (n.uid != node_.uid()) out.push_back(std::move(n));
  return out;
}

bool Controller::knows_node(std::string_view uid) const {
  // mono_ms reads the clock: callable on any thread.
  return enabled_ && uid != node_.uid() && registry_.contains(uid, node_.loop().mono_ms());
}

void Controller::heartbeat() {
  if (stopped_) return;
  for (const auto &uid : registry_.sweep(node_.loop().mono_ms())) {
    LOG_INFO("node %s left (no info for %lld ms)", uid.c_str(),
             static_cast<long long>(NodeRegistry::kExpireMs));
    node_gone(uid);
  }
  ControlMessage m;
  m.type = ControlType::Node;
  m.node = local_info();
  publish("", m, [](bool) {});
}

void Controller::handle(std::string_view data) {
  if (stopped_) return;
  ControlMessage m;
  std::string error;
  if (!decode_control(data, m, error)) {
    ++dropped_;
    LOG_DEBUG("control: dropped a malformed message of %zu bytes (%s; %llu so far)", data.size(),
              error.c_str(), static_cast<unsigned long long>(dropped_));
    return;
  }
  if (m.uid == node_.uid()) return;  // our own broadcast, back from the engine
  inbox_.push_back(std::move(m));
  if (!inbox_timer_.pending()) inbox_timer_.start_ms(0);
}

void Controller::process(ControlMessage &m) {
  switch (m.type) {
    case ControlType::Node: {
      if (!registry_.update(m.node, node_.loop().mono_ms())) return;
      LOG_INFO("node %s (%s) joined", m.uid.c_str(), m.node.name.c_str());
      // A newcomer learns about this node now rather than at the next
      // heartbeat.
      ControlMessage mine;
      mine.type = ControlType::Node;
      mine.node = local_info();
      publish(m.uid, mine, [](bool) {});
      return;
    }
    case ControlType::Shutdown:
      if (registry_.remove(m.uid)) LOG_INFO("node %s shut down", m.uid.c_str());
      node_gone(m.uid);
      return;
    case ControlType::Disconnect:
    case ControlType::Unsubscribe:
    case ControlType::Subscribe:
    case ControlType::Refresh: apply(m, [] {}); return;
    case ControlType::Emulation: node_.deliver_to_session(node_.uid(), m.session, m.data); return;
    case ControlType::Survey: answer_survey(m); return;
    case ControlType::SurveyReply: survey_reply(m); return;
    case ControlType::Store: store_change(m); return;
  }
}

// --- Server API commands -------------------------------------------------------

void Controller::run_command(ControlMessage cmd, std::function<void(const Error *)> done) {
  struct State {
    size_t left;
    const Error *error = nullptr;
    std::function<void(const Error *)> done;
  };
  auto st = std::make_shared<State>(State{enabled_ ? 2u : 1u, nullptr, std::move(done)});
  auto finish_one = [st] {
    if (--st->left == 0) st->done(st->error);
  };
  if (enabled_) {
    ControlMessage copy = cmd;
    publish("", copy, [st, finish_one](bool ok) {
      if (!ok) st->error = &errors::kInternal;
      finish_one();
    });
  }
  apply(cmd, finish_one);
}

void Controller::apply(const ControlMessage &m, std::function<void()> done) {
  // Session targets need a session index per worker: not there yet, so
  // such a request matches nothing (here and on every node).
  if (!m.session.empty()) return done();
  std::function<void(Client &)> act;
  switch (m.type) {
    case ControlType::Subscribe:
      act = [channel = m.channel, info = m.info, data = m.data](Client &c) {
        c.server_subscribe(channel, info, data);
      };
      break;
    case ControlType::Unsubscribe:
      act = [channel = m.channel](Client &c) {
        if (!channel.empty()) return c.server_unsubscribe(channel, unsubscribes::kServer);
        std::vector<std::string> all;
        c.for_each_subscription([&](const ClientSubscription &s) { all.push_back(s.channel); });
        for (const auto &ch : all) c.server_unsubscribe(ch, unsubscribes::kServer);
      };
      break;
    case ControlType::Disconnect: {
      auto spare = std::make_shared<const std::set<std::string, std::less<>>>(m.whitelist.begin(),
                                                                              m.whitelist.end());
      act = [spare, code = m.code, reason = m.reason](Client &c) {
        if (!spare->count(c.id())) c.disconnect(Disconnect{code, reason});
      };
      break;
    }
    case ControlType::Refresh:
      act = [expired = m.expired, expire_at = m.expire_at, info = m.info](Client &c) {
        if (expired) return c.disconnect(disconnects::kExpired);
        if (!info.empty()) c.set_conn_info(info);
        // No expiry given: the connection stops expiring.
        // Capped at the year 9999: x1000 must not overflow.
        c.set_expire_at(expire_at > 0 ? std::min<int64_t>(expire_at, 253402300799) * 1000 : 0);
      };
      break;
    default: return done();
  }
  // Each worker looks up its own targets; done() runs once all of them
  // have acted, so a later request sees the effect.
  Node &node = node_;
  node_.on_every_worker(
      [&node, user = m.user, client = m.client, act](Worker &w) {
        for (Client *c : node.registry().targets_on(w, user, client)) act(*c);
      },
      std::move(done));
}

// --- Surveys (channels) ------------------------------------------------------------

void Controller::collect_channels(const std::string &pattern,
                                  std::function<void(std::map<std::string, uint64_t> &)> done) {
  // Each worker lists its channels; the counts are summed here.
  auto per_worker = std::make_shared<std::vector<std::vector<std::pair<std::string, size_t>>>>(
      node_.num_workers());
  node_.on_every_worker(
      [per_worker, pattern](Worker &w) {
        auto &mine = (*per_worker)[w.index()];
        w.hub().for_each_channel([&](const std::string &name, size_t n) {
          if (pattern.empty() || glob_match(pattern, name).value_or(false))
            mine.emplace_back(name, n);
        });
      },
      [per_worker, done = std::move(done)] {
        std::map<std::string, uint64_t> total;
        for (const auto &list : *per_worker)
          for (const auto &[name, n] : list) total[name] += n;
        done(total);
      });
}

void Controller::channels(const std::string &pattern, ChannelsDone done) {
  std::vector<NodeInfo> others;
  if (enabled_) others = registry_.live(node_.loop().mono_ms());
  if (others.empty()) {
    return collect_channels(pattern, [done = std::move(done)](std::map<std::string, uint64_t> &t) {
      done(nullptr, channels_json(t));
    });
  }
  if (surveys_.size() >= kMaxSurveys) {
    LOG_WARN("control: %zu channel surveys in flight, refusing another", surveys_.size());
    return done(&errors::kInternal, {});
  }
  uint64_t id = ++next_survey_id_;
  auto survey = std::make_unique<Survey>();
  for (const auto &n : others) survey->waiting.insert(n.uid);
  survey->done = std::move(done);
  survey->deadline_ms = node_.loop().mono_ms() + kSurveyTimeoutMs;
  surveys_.emplace(id, std::move(survey));
  if (!survey_timer_.pending()) survey_timer_.start_ms(kSurveyTickMs, true);

  ControlMessage req;
  req.type = ControlType::Survey;
  req.id = id;
  req.op = "channels";
  req.pattern = pattern;
  publish("", req, [this, id](bool ok) {
    if (!ok) fail_survey(id, "request not sent");
  });
  std::weak_ptr<char> life = life_;
  collect_channels(pattern, [this, life, id](std::map<std::string, uint64_t> &local) {
    if (life.expired()) return;
    auto it = surveys_.find(id);
    if (it == surveys_.end()) return;
    for (const auto &[name, n] : local) it->second->totals[name] += n;
    it->second->local_done = true;
    finish_survey_if_complete(id);
  });
}

void Controller::finish_survey_if_complete(uint64_t id) {
  auto it = surveys_.find(id);
  if (it == surveys_.end() || !it->second->local_done || !it->second->waiting.empty()) return;
  std::unique_ptr<Survey> s = std::move(it->second);
  surveys_.erase(it);
  if (surveys_.empty()) survey_timer_.stop();
  s->done(nullptr, channels_json(s->totals));
}

void Controller::fail_survey(uint64_t id, const char *why) {
  auto it = surveys_.find(id);
  if (it == surveys_.end()) return;
  std::unique_ptr<Survey> s = std::move(it->second);
  surveys_.erase(it);
  if (surveys_.empty()) survey_timer_.stop();
  std::string missing;
  for (const auto &uid : s->waiting) missing += (missing.empty() ? "" : ", ") + uid;
  LOG_WARN("channels survey %llu failed (%s; no answer from: %s)",
           static_cast<unsigned long long>(id), why, missing.empty() ? "-" : missing.c_str());
  s->done(&errors::kInternal, {});
}

void Controller::expire_surveys() {
  int64_t now = node_.loop().mono_ms();
  std::vector<uint64_t> late;
  for (const auto &[id, s] : surveys_)
    if (now >= s->deadline_ms) late.push_back(id);
  for (uint64_t id : late) fail_survey(id, "timeout");
}

void Controller::answer_survey(const ControlMessage &m) {
  auto reply = std::make_shared<ControlMessage>();
  reply->type = ControlType::SurveyReply;
  reply->id = m.id;
  std::string asker = m.uid;
  if (m.op != "channels") {
    reply->code = kSurveyUnknownOp;
    return publish(asker, *reply, [](bool) {});
  }
  if (!m.pattern.empty() && !glob_match(m.pattern, "")) {
    reply->code = kSurveyInvalid;
    return publish(asker, *reply, [](bool) {});
  }
  std::weak_ptr<char> life = life_;
  collect_channels(m.pattern, [this, life, reply, asker](std::map<std::string, uint64_t> &local) {
    if (life.expired() || stopped_) return;
    reply->channels.assign(local.begin(), local.end());
    reply->uid = node_.uid();
    if (encode_control(*reply).size() > kMaxControlBytes) {
      LOG_WARN("channels survey: %zu channels do not fit a control message",
               reply->channels.size());
      reply->channels.clear();
      reply->code = kSurveyInternal;
    }
    publish(asker, *reply, [](bool) {});
  });
}

void Controller::survey_reply(const ControlMessage &m) {
  auto it = surveys_.find(m.id);
  // Late (the survey ended) or from a node that was not asked: ignored.
  if (it == surveys_.end() || !it->second->waiting.erase(m.uid)) return;
  if (m.code != kSurveyOk) {
    LOG_WARN("channels survey %llu: node %s answered with code %u",
             static_cast<unsigned long long>(m.id), m.uid.c_str(), m.code);
    return fail_survey(m.id, "a node could not answer");
  }
  for (const auto &[name, n] : m.channels) it->second->totals[name] += n;
  finish_survey_if_complete(m.id);
}

void Controller::node_gone(const std::string &uid) {
  std::vector<uint64_t> touched;
  for (auto &[id, s] : surveys_)
    if (s->waiting.erase(uid)) touched.push_back(id);
  for (uint64_t id : touched) finish_survey_if_complete(id);
}

// --- Emulation -------------------------------------------------------------------

void Controller::send_emulation(std::string node, std::string session, std::string data) {
  ControlMessage m;
  m.type = ControlType::Emulation;
  m.session = std::move(session);
  m.data = std::move(data);
  publish(node, m, [node](bool ok) {
    if (!ok) LOG_DEBUG("emulation commands for node %s not sent", node.c_str());
  });
}

// --- Store changes ---------------------------------------------------------------

void Controller::send_store_change(const Store::Change &c) {
  if (!enabled_ || stopped_) return;
  ControlMessage m;
  m.type = ControlType::Store;
  m.item_kind = store_kind_key(c.kind);
  m.item_name = c.name;
  m.item_remove = c.remove;
  if (!c.remove) m.item_options = c.json;
  std::string what = m.item_kind + " \"" + c.name + "\"";
  publish("", m, [what](bool ok) {
    if (!ok) LOG_WARN("store: the change of %s did not reach the other nodes", what.c_str());
  });
}

void Controller::store_change(const ControlMessage &m) {
  Store::Change c;
  if (!store_kind_from_key(m.item_kind, c.kind)) {
    LOG_DEBUG("control: store change of unknown kind \"%s\" dropped", m.item_kind.c_str());
    return;
  }
  StoreService *store = node_.store();
  if (!store) {
    LOG_WARN("store: node %s changed %s \"%s\", but this node has no store.path: not applied",
             m.uid.c_str(), m.item_kind.c_str(), m.item_name.c_str());
    return;
  }
  c.name = m.item_name;
  c.remove = m.item_remove;
  c.json = m.item_options;
  store->apply_remote(std::move(c));
}

// --- Position checks -------------------------------------------------------------

void Controller::resync(std::string_view channel) {
  if (stopped_) return;
  LOG_DEBUG("engine resync of %s",
            channel.empty() ? "every channel" : std::string(channel).c_str());
  if (channel.empty()) return check_all_positioned();
  if (node_.route_mask(channel) == 0) return;  // no local subscriber
  queue_checks({std::string(channel)});
}

void Controller::check_all_positioned() {
  if (stopped_) return;
  auto lists = std::make_shared<std::vector<std::vector<std::string>>>(node_.num_workers());
  std::weak_ptr<char> life = life_;
  node_.on_every_worker([lists](Worker &w) { (*lists)[w.index()] = w.positioned_channels(); },
                        [this, life, lists] {
                          if (life.expired()) return;
                          std::vector<std::string> all;
                          for (auto &l : *lists)
                            for (auto &ch : l) all.push_back(std::move(ch));
                          queue_checks(all);
                        });
}

void Controller::queue_checks(const std::vector<std::string> &channels) {
  if (stopped_) return;
  for (const auto &ch : channels)
    if (check_queued_.insert(ch).second) check_queue_.push_back(ch);
  // Never from here: resync may come from inside an engine callback, and
  // a check calls the engine.
  if (!check_batch_running_ && !check_timer_.pending() && check_head_ < check_queue_.size())
    check_timer_.start_ms(0);
}

void Controller::pump_checks() {
  if (check_batch_running_ || stopped_) return;
  struct Batch {
    size_t pending = 1;  // the issuing loop below holds one
    std::vector<Worker::StreamTop> tops;
  };
  auto batch = std::make_shared<Batch>();
  check_batch_running_ = true;
  std::weak_ptr<char> life = life_;
  auto finish_one = [this, life, batch] {
    if (--batch->pending > 0 || life.expired()) return;
    check_batch_running_ = false;
    // One post per worker for the whole batch, each with the channels that
    // worker has subscribers of.
    std::vector<std::vector<Worker::StreamTop>> per_worker(node_.num_workers());
    for (const auto &t : batch->tops)
      for (uint64_t mask = node_.route_mask(t.channel); mask; mask &= mask - 1)
        per_worker[static_cast<size_t>(__builtin_ctzll(mask))].push_back(t);
    for (size_t i = 0; i < per_worker.size(); ++i) {
      if (per_worker[i].empty()) continue;
      Worker &w = node_.worker(i);
      w.loop().post([&w, tops = std::move(per_worker[i])] { w.check_positions(tops); });
    }
    if (!stopped_ && check_head_ < check_queue_.size()) check_timer_.start_ms(0);
  };
  const Config &cfg = node_.config();
  size_t issued = 0;
  while (check_head_ < check_queue_.size() && issued < kCheckBatch) {
    std::string ch = std::move(check_queue_[check_head_++]);
    check_queued_.erase(ch);
    const ChannelOptions *opts = cfg.channel.resolve(ch);
    // Positioned subscriptions need history; a channel without local
    // subscribers has nobody to check.
    if (!opts || !opts->history_enabled() || node_.route_mask(ch) == 0) continue;
    ++issued;
    ++batch->pending;
    gyre_history_filter f{};
    f.size = sizeof f;
    f.limit = 0;
    f.history_meta_ttl_s = static_cast<uint32_t>(cfg.channel.meta_ttl_ms(*opts) / 1000);
    node_.engine().history(ch, f, [batch, ch, finish_one](const OpResult &r) {
      // An error: nothing is judged now; the next check looks again.
      if (r.status == GYRE_OK && r.top)
        batch->tops.push_back(
            Worker::StreamTop{ch, r.top->offset, std::string(to_sv(r.top->epoch))});
      finish_one();
    });
  }
  if (check_head_ == check_queue_.size()) {
    check_queue_.clear();
    check_head_ = 0;
  } else if (check_head_ > 4 * kCheckBatch) {
    check_queue_.erase(check_queue_.begin(),
                       check_queue_.begin() + static_cast<std::ptrdiff_t>(check_head_));
    check_head_ = 0;
  }
  finish_one();
}

}  // namespace gyre

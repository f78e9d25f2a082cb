#include "client.h"

#include <algorithm>

#include "log.h"
#include "node.h"
#include "worker.h"

namespace gyre {

Client::Client(Worker &worker, Transport &transport)
    : worker_(worker), transport_(transport), alive_(std::make_shared<bool>(true)) {
  timer_.set_callback([](WheelTimer *, void *self) { static_cast<Client *>(self)->on_timer(); },
                      this);
}

Client::~Client() { *alive_ = false; }

Node &Client::node() const { return worker_.node(); }

void Client::start() {
  const Config &cfg = node().config();
  if (cfg.stale_close_delay_ms > 0) timer_.start(worker_.loop().wheel(), cfg.stale_close_delay_ms);
}

void Client::write(std::string_view json) {
  if (state_ == State::Closed) return;
  transport_.write(json);
  check_queue();
}

bool Client::check_queue() {
  size_t limit = static_cast<size_t>(node().config().queue_max_size);
  if (transport_.queued_bytes() <= limit) return true;
  // Writes are batched per loop iteration; a burst can exceed the limit for
  // a reader that keeps up. Only what the socket refuses counts as slow.
  transport_.flush();
  if (transport_.queued_bytes() <= limit) return true;
  disconnect_later(disconnects::kSlow);
  return false;
}

void Client::disconnect_later(const Disconnect &d) {
  if (state_ == State::Closed || disconnect_pending_) return;
  disconnect_pending_ = true;
  // Stop writing now; the cleanup (which talks to the engine) runs after the
  // current engine event.
  auto alive = alive_;
  worker_.defer([this, alive, d] {
    if (*alive) disconnect(d);
  });
}

void Client::reply_error(uint32_t id, const Error &e) { write(protocol::error_reply(id, e)); }

void Client::reply_result(uint32_t id, protocol::Method m, std::string_view result) {
  write(protocol::result_reply(id, m, result));
}

void Client::handle_frame(std::string_view data) {
  if (state_ == State::Closed) return;
  if (data.empty()) {
    disconnect(disconnects::kBadRequest);
    return;
  }
  size_t start = 0;
  while (start <= data.size()) {
    size_t nl = data.find('\n', start);
    std::string_view line =
        data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line != "\r") {
      if (!pending_) pending_ = std::make_unique<PendingLines>();
      pending_->lines.emplace_back(line);
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // A peer that floods commands faster than they complete is cut off rather
  // than allowed to grow this queue without bound.
  if (pending_ && pending_->lines.size() - pending_->head > 4096) {
    disconnect(disconnects::kTooManyRequests);
    return;
  }
  process_next();
}

void Client::process_next() {
  if (in_process_) return;  // the loop below picks up what was queued
  in_process_ = true;
  auto alive = alive_;
  while (*alive && state_ != State::Closed && !busy_ && pending_) {
    std::string line = std::move(pending_->lines[pending_->head++]);
    if (pending_->head == pending_->lines.size()) pending_.reset();
    json::Document doc;
    protocol::Command cmd;
    if (!doc.parse(line) || !protocol::decode_command(doc.root(), cmd)) {
      LOG_DEBUG("client %.*s: malformed command", static_cast<int>(id_len_), id_);
      disconnect(disconnects::kBadRequest);
      break;
    }
    busy_ = true;
    dispatch(cmd, [this, alive] {
      if (!*alive) return;
      busy_ = false;
      if (!in_process_) process_next();
    });
  }
  if (*alive) in_process_ = false;
}

void Client::dispatch(const protocol::Command &cmd, Done done) {
  using protocol::Method;
  // An id-less command other than `send` is a pong.
  if (cmd.id == 0 && cmd.method != Method::Send) {
    if (state_ != State::Connected || !ping_outstanding_) {
      disconnect(disconnects::kBadRequest);
    } else {
      ping_outstanding_ = false;
      schedule_ping();
    }
    done();
    return;
  }
  if (state_ != State::Connected) {
    if (cmd.method != Method::Connect || connect_failed_) {
      disconnect(disconnects::kBadRequest);
      done();
      return;
    }
    cmd_connect(cmd, std::move(done));
    return;
  }
  switch (cmd.method) {
    case Method::Connect:
    case Method::None:
      disconnect(disconnects::kBadRequest);
      done();
      return;
    case Method::Subscribe: return cmd_subscribe(cmd, std::move(done));
    case Method::Unsubscribe: return cmd_unsubscribe(cmd, std::move(done));
    case Method::Publish: return cmd_publish(cmd, std::move(done));
    case Method::Presence: return cmd_presence(cmd, false, std::move(done));
    case Method::PresenceStats: return cmd_presence(cmd, true, std::move(done));
    case Method::History: return cmd_history(cmd, std::move(done));
    case Method::Refresh: return cmd_refresh(cmd, std::move(done));
    case Method::SubRefresh: return cmd_sub_refresh(cmd, std::move(done));
    case Method::Rpc: return cmd_rpc(cmd, std::move(done));
    case Method::Send:
      // No message handler: Centrifugo closes with 3508.
      disconnect(disconnects::kNotAvailable);
      done();
      return;
  }
}

void Client::on_transport_pong() {
  // Unsolicited pongs are allowed (RFC 6455 5.5.3): only an awaited one counts.
  if (state_ != State::Connected || !ping_outstanding_ || !unidirectional()) return;
  ping_outstanding_ = false;
  schedule_ping();
}

void Client::schedule_ping() {
  const Config &cfg = node().config();
  if (cfg.ping_interval_ms <= 0 || state_ != State::Connected) return;
  timer_.start(worker_.loop().wheel(), cfg.ping_interval_ms);
}

void Client::on_timer() {
  const Config &cfg = node().config();
  if (state_ == State::Connecting) {
    disconnect(disconnects::kStale);
    return;
  }
  if (state_ != State::Connected) return;
  if (ping_outstanding_) {
    disconnect(disconnects::kNoPong);
    return;
  }
  write("{}");
  if (state_ != State::Connected) return;
  // Unidirectional peers cannot answer: their pings only keep proxies open,
  // unless the transport can check the peer below the protocol (as
  // Centrifugo's uni_websocket does with ping frames).
  bool answerable = !unidirectional() || transport_.send_liveness_ping();
  if (cfg.pong_timeout_ms > 0 && answerable) {
    ping_outstanding_ = true;
    timer_.start(worker_.loop().wheel(), cfg.pong_timeout_ms);
  } else {
    timer_.start(worker_.loop().wheel(), cfg.ping_interval_ms);
  }
}

void Client::deliver_shared(SharedPush &push) {
  if (state_ != State::Connected || disconnect_pending_) return;
  transport_.write_shared(push);
  check_queue();
}

void Client::deliver_publication(ClientSubscription &sub, SharedPush &push, uint64_t offset,
                                 std::string_view epoch) {
  if (state_ != State::Connected || disconnect_pending_ || sub.insufficient) return;
  if (!sub.subscribed) {
    // Held until the subscribe reply is out; bounded like the queue.
    if (!sub.buffered) sub.buffered = std::make_unique<ClientSubscription::Buffer>();
    sub.buffered->bytes += push.json.size();
    if (sub.buffered->bytes > static_cast<size_t>(node().config().queue_max_size))
      return disconnect_later(disconnects::kSlow);
    sub.buffered->items.push_back({push.json, offset, std::string(epoch)});
    return;
  }
  if (sub.positioned && offset > 0) {
    bool epoch_changed = !sub.epoch.empty() && !epoch.empty() && epoch != sub.epoch;
    if (offset <= sub.offset && !epoch_changed) return;  // stale duplicate
    if (epoch_changed || offset != sub.offset + 1) {
      // A gap: the client must resubscribe and recover (spec §6.4).
      lose_position(sub);
      return;
    }
    sub.offset = offset;
  }
  transport_.write_shared(push);
  check_queue();
}

void Client::lose_position(ClientSubscription &sub) {
  if (sub.server_side) {
    disconnect_later(disconnects::kInsufficientState);
    return;
  }
  if (sub.insufficient) return;
  sub.buffered.reset();
  sub.insufficient = true;
  auto alive = alive_;
  std::string ch = sub.channel;
  worker_.defer([this, alive, ch] {
    if (*alive) server_unsubscribe(ch, unsubscribes::kInsufficientState);
  });
}

bool Client::check_position(std::string_view channel, uint64_t top_offset,
                            std::string_view top_epoch, bool final) {
  if (state_ != State::Connected || disconnect_pending_) return false;
  ClientSubscription *sub = find_sub(channel);
  // Not answered yet: its subscribe read the position itself, and what
  // arrives meanwhile is buffered and checked on release.
  if (!sub || !sub->positioned || !sub->subscribed || sub->insufficient) return false;
  bool same_epoch = sub->epoch.empty() || top_epoch.empty() || sub->epoch == top_epoch;
  if (!same_epoch) {
    // On the second look a different epoch is a subscription made after
    // the read (a newer stream): the first look judged the older one.
    if (!final) lose_position(*sub);
    return false;
  }
  // Ahead of the top is fine: publications arrived after the read.
  if (sub->offset >= top_offset) return false;
  if (!final) return true;
  lose_position(*sub);
  return false;
}

void Client::server_unsubscribe(std::string_view channel, const Disconnect &reason) {
  ClientSubscription *sub = find_sub(channel);
  if (!sub) return;
  std::string ch = sub->channel;
  remove_subscription(ch, true);
  write(protocol::unsubscribe_push(ch, reason));
}

void Client::set_expire_at(int64_t unix_ms) {
  expire_at_ms_ = unix_ms;
  if (state_ == State::Connected) worker_.track_expiry(*this);
}

ClientSubscription *Client::find_sub(std::string_view channel) const {
  for (const auto &s : subs_)
    if (s->channel == channel) return s.get();
  return nullptr;
}

ClientSubscription *Client::find_live(std::string_view channel, uint32_t gen) const {
  ClientSubscription *s = find_sub(channel);
  return s && s->gen == gen ? s : nullptr;
}

void Client::refresh_presence(const ClientSubscription &sub, uint32_t ttl_s) {
  if (state_ != State::Connected || !sub.presence || !sub.subscribed) return;
  gyre_client_info info = info_for(&sub);
  node().engine().presence_add(sub.channel, info, ttl_s, [](const OpResult &) {});
}

gyre_client_info Client::info_for(const ClientSubscription *sub) const {
  return gyre_client_info{sizeof(gyre_client_info), to_gstr(user_), to_gstr(id()),
                          to_gstr(conn_info_),
                          sub ? to_gstr(sub->chan_info) : gyre_str{nullptr, 0}};
}

void Client::remove_subscription(const std::string &channel, bool notify_engine) {
  auto it = std::find_if(subs_.begin(), subs_.end(),
                         [&](const auto &s) { return s->channel == channel; });
  if (it == subs_.end()) return;
  std::unique_ptr<ClientSubscription> sub = std::move(*it);
  *it = std::move(subs_.back());
  subs_.pop_back();
  bool last = worker_.hub().remove_subscriber(channel, sub.get());
  if (last) worker_.channel_unused(channel);
  if (!notify_engine) return;
  Engine &engine = node().engine();
  if (sub->presence) engine.presence_remove(channel, id(), user_, [](const OpResult &) {});
  if (sub->join_leave && sub->subscribed) {
    gyre_client_info info = info_for(sub.get());
    engine.publish_leave(channel, info, [](const OpResult &) {});
  }
}

void Client::cleanup() {
  timer_.stop();
  pending_.reset();
  std::vector<std::string> channels;
  for (const auto &sub : subs_) channels.push_back(sub->channel);
  for (const auto &ch : channels) remove_subscription(ch, true);
  worker_.client_closed(*this);
}

void Client::disconnect(const Disconnect &d) {
  if (state_ == State::Closed) return;
  bool was_connected = state_ == State::Connected;
  state_ = State::Closed;
  *alive_ = false;
  if (was_connected || d.code != disconnects::kConnectionClosed.code)
    LOG_DEBUG("client %.*s disconnected: %u %.*s", static_cast<int>(id_len_), id_, d.code,
              static_cast<int>(d.reason.size()), d.reason.data());
  cleanup();
  transport_.close(d);
}

void Client::on_transport_closed() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  *alive_ = false;
  cleanup();
}

}  // namespace gyre

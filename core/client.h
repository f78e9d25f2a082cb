// Client: one connection's protocol state machine (connecting -> connected
// -> closed) and its subscriptions. Commands of a frame run strictly in
// order; each may finish asynchronously (engine round trips).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth.h"
#include "channel_options.h"
#include "codes.h"
#include "config.h"
#include "engine.h"
#include "http_client.h"
#include "loop.h"
#include "protocol.h"
#include "timer_wheel.h"
#include "transport.h"

namespace gyre {

class Node;
class Worker;
struct ProxyCaller;

struct ClientSubscription {
  std::string channel;
  bool subscribed = false;  // false while the subscribe is in progress
  bool positioned = false;
  bool recoverable = false;
  bool push_join_leave = false;
  bool presence = false;    // tracked in the presence manager
  bool join_leave = false;  // publishes join/leave
  bool server_side = false;
  bool insufficient = false;         // a gap was seen; unsubscribe 2500 pending
  bool client_side_refresh = false;  // expiry: the client sends sub_refresh
  bool refreshing = false;           // a sub_refresh by the host is in flight
  // Tells this subscription from a later one of the same channel (and
  // perhaps the same address) in callbacks that outlive it.
  uint32_t gen = 0;
  int64_t expire_at_ms = 0;  // 0 = never
  uint64_t offset = 0;
  std::string epoch;
  std::string chan_info;
  size_t hub_index = 0;
  // Publications that arrived while subscribing: released after the reply.
  // Allocated only when one arrives (most subscriptions never need it).
  struct Buffered {
    std::string json;
    uint64_t offset;
    std::string epoch;
  };
  struct Buffer {
    std::vector<Buffered> items;
    size_t bytes = 0;
  };
  std::unique_ptr<Buffer> buffered;
};

class Client {
 public:
  // Lives on `worker`'s thread and is used only there.
  Client(Worker &worker, Transport &transport);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  std::string_view id() const { return std::string_view(id_, id_len_); }
  const std::string &user() const { return user_; }
  const std::string &conn_info() const { return conn_info_; }
  bool connected() const { return state_ == State::Connected; }
  std::string_view transport_name() const { return transport_.name(); }
  // The session id of an emulation stream, which session_deliver reaches
  // (else empty; unidirectional sessions have an id but take no commands).
  // Stable while the client lives.
  std::string_view emulation_session() const {
    return (transport_.stream_flags() & GYRE_STREAM_EMULATION) ? transport_.session_id()
                                                               : std::string_view();
  }
  int64_t expire_at_ms() const { return expire_at_ms_; }
  Worker &worker() const { return worker_; }

  // From the transport.
  void start();                              // arm the stale timer
  void handle_frame(std::string_view data);  // newline-separated commands
  // A unidirectional stream's connect request (a bare ConnectRequest
  // object, empty = {}); only the first one counts.
  void handle_uni_connect(std::string_view request);
  void on_transport_closed();  // peer went away
  void on_transport_pong();    // the answer to Transport::send_liveness_ping

  // From the node / hub / server API.
  void disconnect(const Disconnect &d);
  // Stops writing now; disconnects after the current callback (safe inside
  // fan-outs and engine events). `d.reason` must be a static string.
  void disconnect_later(const Disconnect &d);
  void deliver_publication(ClientSubscription &sub, SharedPush &push, uint64_t offset,
                           std::string_view epoch);
  void deliver_shared(SharedPush &push);
  void server_unsubscribe(std::string_view channel, const Disconnect &reason);
  // The position check (spec §2.3) of this client's subscription of
  // `channel`, if it is positioned and answered, against the stream's top
  // as the engine reported it. A different epoch loses the position at once
  // (unsubscribe 2500, or disconnect 3010 for a server-side subscription,
  // both after the current callback). An offset behind the top loses it
  // only when `final`: on the first look the publications that close the
  // gap may still be on their way, so the caller looks again later. Returns
  // true when the subscription is behind and was left alone for that.
  bool check_position(std::string_view channel, uint64_t top_offset, std::string_view top_epoch,
                      bool final);
  void server_subscribe(std::string_view channel, std::string_view chan_info,
                        std::string_view data);
  void set_expire_at(int64_t unix_ms);
  void set_conn_info(std::string info) { conn_info_ = std::move(info); }
  // Whether the connection or one of its subscriptions expires (the worker
  // checks those every second), and the check itself.
  bool has_expiry() const;
  void check_expiry(int64_t now_ms);
  // Disconnects with 3008 when the transport's queue is over
  // client.queue_max_size; false then.
  bool check_queue();
  // Refreshes this subscription's presence entry (the worker's periodic
  // walk over its Hub).
  void refresh_presence(const ClientSubscription &sub, uint32_t ttl_s);
  template <typename Fn>
  void for_each_subscription(Fn fn) const {
    for (const auto &sub : subs_) fn(*sub);
  }

 private:
  enum class State { Connecting, Connected, Closed };
  using Done = std::function<void()>;

  void process_next();
  void dispatch(const protocol::Command &cmd, Done done);
  void reply_error(uint32_t id, const Error &e);
  void reply_result(uint32_t id, protocol::Method m, std::string_view result);
  void write(std::string_view json);
  void on_timer();
  void schedule_ping();
  void schedule_first_ping();
  void cleanup();
  gyre_client_info info_for(const ClientSubscription *sub) const;
  // The subscription missed publications: the client must resubscribe and
  // recover. Safe inside fan-outs (the effect is deferred).
  void lose_position(ClientSubscription &sub);

  // Connect, refresh and expiry (client_auth.cc).
  struct ConnectParams;
  void cmd_connect(const protocol::Command &cmd, Done done);
  void connect_decided(uint32_t id, const ConnectParams &p, AuthDecision d, Done done);
  // The connect proxy decides (client_auth.cc).
  void connect_via_proxy(uint32_t id, const ConnectParams &p, Done done);
  // Server-side refresh through the refresh proxy (client_auth.cc).
  void refresh_via_proxy();
  void keep_proxy_headers(const HeaderList &emulated);
  // rpc: the built-in ping, or the RPC proxy of the method's namespace
  // (client_rpc.cc).
  void cmd_rpc(const protocol::Command &cmd, Done done);
  void finish_connect(uint32_t id, const ConnectParams &p, const AuthDecision &d, Done done);
  void write_connect_reply(uint32_t cmd_id, const AuthDecision &d,
                           const std::vector<std::pair<std::string, std::string>> &subs);
  // A connect error: the reply, or on unidirectional streams the
  // disconnect Centrifugo maps it to.
  void connect_error(uint32_t id, const Error &e);
  void deny(uint32_t id, const AuthDecision &d);
  void refresh_decided(uint32_t cmd_id, AuthDecision d, bool by_host);
  void sub_refresh_decided(uint32_t id, const std::string &channel, uint32_t gen, AuthDecision d,
                           bool by_host);
  void expire_subscription(ClientSubscription &sub);
  AuthRequest auth_request(AuthKind kind) const;
  bool unidirectional() const { return transport_.stream_flags() & GYRE_STREAM_UNIDIRECTIONAL; }

  // Commands (client_commands.cc).
  void cmd_subscribe(const protocol::Command &cmd, Done done);
  void cmd_unsubscribe(const protocol::Command &cmd, Done done);
  void cmd_publish(const protocol::Command &cmd, Done done);
  void cmd_presence(const protocol::Command &cmd, bool stats, Done done);
  void cmd_history(const protocol::Command &cmd, Done done);
  void cmd_refresh(const protocol::Command &cmd, Done done);
  void cmd_sub_refresh(const protocol::Command &cmd, Done done);
  // Subscribe steps shared by client- and server-side subscriptions.
  struct ConnectSubs {
    size_t pending = 0;
    bool failed = false;
    std::vector<std::pair<std::string, std::string>> results;  // channel -> SubscribeResult
    std::vector<std::pair<std::string, uint32_t>> subs;        // channel, gen
  };
  struct SubscribeRequest {
    std::string channel;
    bool recover = false;
    uint64_t offset = 0;
    std::string epoch;
    bool reject_unrecovered = false;
  };
  void finish_subscribe(uint32_t id, const SubscribeRequest &req, const ChannelOptions &opts,
                        ClientSubscription *sub, std::string_view data, Done done,
                        std::shared_ptr<ConnectSubs> collect);
  // Client-requested extras, already checked against the namespace's
  // allow_* options and permissions.
  struct SubscriptionWants {
    bool recoverable = false;
    bool positioned = false;
    bool join_leave = false;
  };
  // A client subscribe on its way through the permission checks.
  struct SubscribeParams {
    std::string token;
    std::string data;
    const ChannelOptions *opts = nullptr;
    ConfigRef config;         // the snapshot opts points into, kept while this lives
    SubscriptionWants asked;  // before the permission checks
    SubscribeRequest req;
  };
  // The subscribe / publish proxies decide (client_proxy.cc).
  void subscribe_via_proxy(uint32_t id, const SubscribeParams &p, Done done);
  void publish_via_proxy(uint32_t id, const std::string &channel, const ChannelOptions &opts,
                         std::string data, Done done);
  // Server-side refresh of a subscription through its sub_refresh proxy.
  void sub_refresh_via_proxy(ClientSubscription &sub, const ChannelOptions &opts);
  // What an auth plugin granted on top of the namespace (GYRE_OVERRIDE_*
  // bits, expiry).
  struct SubscriptionGrant {
    uint32_t override_mask = 0;
    uint32_t override_values = 0;
    int64_t expire_at_ms = 0;
    bool client_side_refresh = false;
  };
  // Connect-time server-side subscriptions: their results go into the
  // connect reply, and they start (presence, join, buffered publications)
  // after it.
  void subscribe_decided(uint32_t id, const SubscribeParams &p, AuthDecision d, Done done);
  // Registers the subscription (flags from the namespace and wants), makes
  // sure the engine delivers the channel, then finish_subscribe. id 0 means a
  // server-side subscription (answered with a subscribe push).
  void start_subscription(uint32_t id, const SubscribeRequest &req, const ChannelOptions &opts,
                          SubscriptionWants wants, bool server_side, std::string chan_info,
                          std::string data, Done done, const SubscriptionGrant &grant,
                          std::shared_ptr<ConnectSubs> collect);
  // The subscription is answered: starts presence (unless already added), join and the publications
  // buffered while subscribing.
  void activate_subscription(ClientSubscription *sub, bool presence_added = false);
  void remove_subscription(const std::string &channel, bool notify_engine);
  // Reads the command's channel and checks it resolves and is well-formed;
  // on failure answers (or disconnects) and returns nullptr.
  const ChannelOptions *channel_for(const protocol::Command &cmd, std::string &channel);
  // The two halves of channel_for: presence and length; namespace and name.
  bool read_channel(const protocol::Command &cmd, std::string &channel);
  const ChannelOptions *resolve_channel(const protocol::Command &cmd, const std::string &channel);
  bool has_history_permission(const ChannelOptions &opts, bool subscribed) const;
  bool has_presence_permission(const ChannelOptions &opts, bool subscribed) const;
  bool is_anonymous() const { return user_.empty(); }

  Node &node() const;
  Worker &worker_;
  Transport &transport_;
  State state_ = State::Connecting;
  bool connect_failed_ = false;
  // A UUID, inline: a heap string would cost 48 more bytes per connection.
  char id_[36];
  uint8_t id_len_ = 0;
  std::string user_;
  std::string conn_info_;
  // The request's headers that proxies after connect forward (rpc,
  // refresh): only the allow-listed names, kept from connect on.
  struct KeptHeaders {
    HeaderList transport, emulated;
  };
  std::unique_ptr<KeptHeaders> kept_headers_;
  HttpHeaders headers_for(const ProxyEndpoint &p) const;
  // The connection's meta (a JSON object from the connect proxy, its
  // refreshes or the token's meta claim): for proxies with
  // include_connection_meta, never for clients. Boxed: most have none.
  std::unique_ptr<const std::string> meta_;
  void set_meta(const std::string &meta);
  std::string_view meta_for(const ProxyEndpoint &p) const {
    return p.include_connection_meta && meta_ ? std::string_view(*meta_) : std::string_view();
  }
  // Who calls `p` after connect; views into this client.
  ProxyCaller proxy_caller(const ProxyEndpoint &p) const;
  int64_t expire_at_ms_ = 0;          // 0 = never
  bool client_side_refresh_ = false;  // expiry: the client sends refresh
  bool refreshing_ = false;           // a refresh by the host is in flight
  // A flat vector: a connection has few subscriptions (channel_limit caps
  // them), and a tree node per subscription costs more than the scan.
  std::vector<std::unique_ptr<ClientSubscription>> subs_;
  ClientSubscription *find_sub(std::string_view channel) const;
  // The subscription of `channel` if it is still the one numbered `gen`.
  ClientSubscription *find_live(std::string_view channel, uint32_t gen) const;
  uint32_t next_gen_ = 0;
  // Command lines waiting their turn, from head on; allocated while
  // there are any (an idle connection carries only the pointer).
  struct PendingLines {
    std::vector<std::string> lines;
    size_t head = 0;
  };
  std::unique_ptr<PendingLines> pending_;
  bool busy_ = false;
  bool in_process_ = false;
  // Ping/pong/stale share one wheel timer; what it means depends on the state.
  WheelTimer timer_;
  bool ping_outstanding_ = false;
  bool disconnect_pending_ = false;
  std::shared_ptr<bool> alive_;  // false once closed; guards async callbacks
};

}  // namespace gyre

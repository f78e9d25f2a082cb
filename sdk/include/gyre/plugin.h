/*
 * gyre/plugin.h — the complete C ABI between the Gyre server and its plugins.
 *
 * WHAT THIS FILE IS
 *   The only header a plugin needs. Pure C99; includes nothing but <stddef.h>,
 *   <stdint.h> and <stdbool.h>; compiles as C and as C++. The server includes
 *   this very file, so the contract cannot drift from the implementation.
 *
 * COMPATIBILITY POLICY
 *   - GYRE_ABI_MAJOR changes only when an existing item changes meaning or
 *     layout. The host refuses a plugin whose major differs from its own.
 *   - GYRE_ABI_MINOR grows when items are appended. The host accepts plugins
 *     built against any minor up to its own; a plugin built against a newer
 *     minor than the host checks `api->abi_minor` (or `api->size`) and tests a
 *     host slot for NULL before using anything newer than what it requires.
 *   - Every record and vtable that crosses the boundary opens with a `size`
 *     field set to sizeof() at the sender's compile time. The receiver reads
 *     only min(size, its own sizeof) bytes and treats missing fields as
 *     zero / NULL. Nothing is ever reordered or removed: a retired slot stays
 *     where it is and is set to NULL.
 *   - Fill descriptors and records with designated initializers (or zero
 *     them first): fields appended later then need no edit in C, and read
 *     as absent.
 *
 * THREADING
 *   The host runs several event loops, one per thread ("workers",
 *   node.workers, one per core by default). Connections and clients are
 *   spread over the workers; the first worker's loop, on the main thread,
 *   is "the loop" of this header.
 *   - Engine and auth hooks, init and destroy run on the loop thread, never
 *     concurrently with another of those hooks of the same plugin.
 *   - Transport hooks run on the worker thread that owns the stream's
 *     connection (the loop thread too when node.workers is 1). Hooks of one
 *     stream never run concurrently, but different streams' hooks may run
 *     at the same time on different workers, and alongside the plugin's
 *     loop-thread hooks: a transport keeps per-stream data in its stream
 *     state and treats shared state as read-only after init (or locks it).
 *   - Host API functions must be called on the loop thread, except where
 *     their comment says "thread-safe" (post, log, now_ms, session_deliver,
 *     origin_allowed)
 *     or "stream thread" (the gyre_stream calls: on the stream's worker,
 *     from inside one of that stream's hooks).
 *   A plugin that uses threads of its own brings results back to the loop
 *   with `post`.
 *   Requests from clients on other workers reach engine and auth hooks as
 *   ordinary hook calls on the loop thread (the host copies their arguments
 *   across), and the host copies completions and events before handing them
 *   to other workers: what a plugin passes to a completion or event call
 *   needs to live only for that call.
 *
 * OWNERSHIP
 *   - gyre_str values are borrowed views: valid only for the duration of the
 *     call that received them. Copy what you keep.
 *   - Records passed by pointer (publications, client infos, options) are
 *     borrowed for the duration of the call as well, and so is every pointer
 *     they contain.
 *   - Each side frees only what it allocated. Nothing the host hands over
 *     needs freeing by the plugin, and vice versa.
 *
 * ERRORS
 *   Fallible calls return gyre_status. Human-readable detail goes to the log
 *   (`api->log`) or into the `message` of a completion. No C++ exception, errno
 *   convention or longjmp crosses this boundary: C++ plugins must catch
 *   everything at every entry point.
 *
 * RE-ENTRANCY
 *   A hook may call back into the host before it returns (publish from an
 *   engine hook, answer an auth op at once, deliver commands to a stream
 *   from on_request). The host defers destructive work until the hook
 *   returns: a stream closed from inside its own hook gets on_close after
 *   the hook returned, never inside it, and an auth answer given inside an
 *   auth hook (for that op or another) takes effect after the hook
 *   returned, so no hook ever runs nested in another. Each hook's comment
 *   says which host calls it may make.
 *
 * NAMING
 *   gyre_ types and functions, GYRE_ constants. Hooks a plugin implements are
 *   members of an `_ops` table; host calls are members of gyre_host_api.
 *   Engine hooks (ABI 1.0) are named after the operation they perform;
 *   event hooks of the later tables begin with on_.
 *
 * CONTENTS
 *   Value types; opaque handles; engine records; configuration schema;
 *   auth records (1.1); transport records (1.1); the host API table; the
 *   engine, auth and transport vtables; command lines (1.2); the
 *   descriptor and entry point.
 */
#ifndef GYRE_PLUGIN_H
#define GYRE_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version this header describes (compile time). The host's runtime values
 * are in gyre_host_api.abi_major / abi_minor. */
#define GYRE_ABI_MAJOR 1
#define GYRE_ABI_MINOR 5

#if defined(_WIN32)
#define GYRE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define GYRE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* Value types                                                              */
/* ------------------------------------------------------------------------ */

/* gyre_str: a borrowed byte view, not NUL-terminated, may contain any bytes.
 * ptr may be NULL only when len is 0. */
typedef struct gyre_str {
  const char *ptr;
  size_t len;
} gyre_str;

/* gyre_status: result of every fallible call. */
typedef enum gyre_status {
  GYRE_OK = 0,
  GYRE_ERR_INVALID = -1,       /* bad argument or request (maps to code 107) */
  GYRE_ERR_NOMEM = -2,         /* allocation failed */
  GYRE_ERR_UNAVAILABLE = -3,   /* backend unreachable or not ready (code 100) */
  GYRE_ERR_INTERNAL = -4,      /* anything else went wrong (code 100) */
  GYRE_ERR_UNRECOVERABLE = -5, /* stream position cannot be served (code 112) */
  GYRE_ERR_NOT_FOUND = -6,     /* the named thing does not exist */
  GYRE_DECLINED = 1,           /* "not mine": let the next plugin decide */
  GYRE_PENDING = 2             /* the answer comes later through a completion */
} gyre_status;

typedef enum gyre_log_level {
  GYRE_LOG_DEBUG = 0,
  GYRE_LOG_INFO = 1,
  GYRE_LOG_WARN = 2,
  GYRE_LOG_ERROR = 3
} gyre_log_level;

/* Plugin kinds, combined as a bit mask in the descriptor; one plugin may be
 * several kinds (each with its vtable in the descriptor). */
typedef enum gyre_plugin_kind {
  GYRE_PLUGIN_ENGINE = 1,
  GYRE_PLUGIN_AUTH = 2,     /* ABI 1.1 */
  GYRE_PLUGIN_TRANSPORT = 4 /* ABI 1.1 */
} gyre_plugin_kind;

/* ------------------------------------------------------------------------ */
/* Opaque handles (distinct incomplete types so the compiler catches mixups) */
/* ------------------------------------------------------------------------ */

/* The host-side twin of one plugin instance. Valid from init() until
 * destroy() returns. */
typedef struct gyre_host gyre_host;
/* A pending asynchronous operation. The plugin completes it exactly once,
 * on the loop thread, through one of the api->complete_* calls; the handle is
 * invalid after that call returns. */
typedef struct gyre_op gyre_op;
/* A timer started with api->timer_start; valid until timer_stop, or until a
 * one-shot timer has fired (its callback returned). */
typedef struct gyre_timer gyre_timer;
/* A file-descriptor watch started with api->watch_start; valid until
 * watch_stop. */
typedef struct gyre_watch gyre_watch;
/* ABI 1.1. A pending auth decision (see gyre_auth_ops). The plugin answers
 * it exactly once, on the loop thread, with api->auth_grant,
 * api->auth_grant_subscription or api->auth_deny; the handle is invalid after
 * that call returns. At shutdown the clients go first: answers given in
 * destroy are accepted and go nowhere; ops still unanswered after destroy
 * are freed by the host (never touch them afterwards). */
typedef struct gyre_auth_op gyre_auth_op;
/* ABI 1.1. One HTTP exchange on a route a transport plugin registered: a
 * plain request/response, or a stream carrying one client session (see
 * gyre_transport_ops). Valid from on_request until on_request returns (a
 * plain response) or until on_close returns (a stream). */
typedef struct gyre_stream gyre_stream;
/* ABI 1.1. Bytes being built by a transport's encode hook; valid for that
 * call only, filled with api->buffer_append. */
typedef struct gyre_buffer gyre_buffer;

/* ------------------------------------------------------------------------ */
/* Versioned records (each opens with size = sizeof at the sender)          */
/* ------------------------------------------------------------------------ */

/* Who published, joined or left. `user` may be empty (anonymous); `client` is
 * the connection id. conn_info / chan_info are raw JSON values, or empty. */
typedef struct gyre_client_info {
  size_t size;
  gyre_str user;
  gyre_str client;
  gyre_str conn_info;
  gyre_str chan_info;
} gyre_client_info;

/* One tag of a publication (string key, string value). */
typedef struct gyre_tag {
  gyre_str key;
  gyre_str value;
} gyre_tag;

/* A publication. `data` is the payload exactly as published (raw JSON for
 * JSON clients). `offset` is 0 when the channel keeps no history. `info` is
 * NULL when the publication carries no publisher. */
typedef struct gyre_publication {
  size_t size;
  gyre_str data;
  uint64_t offset;
  const gyre_client_info *info;
  const gyre_tag *tags;
  size_t num_tags;
  int64_t time_ms; /* publish time in unix ms, 0 when unknown */
} gyre_publication;

/* A position in a channel's stream. `epoch` changes whenever the stream is
 * recreated (lost, expired); offsets restart at 1 in a new epoch. */
typedef struct gyre_stream_position {
  uint64_t offset;
  gyre_str epoch;
} gyre_stream_position;

/* How a publication is stored. History is kept only when both history_size
 * and history_ttl_s are > 0. TTLs are whole seconds (>= 1 when set). */
typedef struct gyre_publish_options {
  size_t size;
  uint32_t history_size;
  uint32_t history_ttl_s;           /* inactivity TTL of the stored items */
  uint32_t history_meta_ttl_s;      /* lifetime of epoch/top after last use */
  gyre_str idempotency_key;         /* empty: none */
  uint32_t idempotent_result_ttl_s; /* 0: engine default (300 s) */
  uint64_t version;                 /* 0: no version check */
  gyre_str version_epoch;
  bool use_delta; /* hand the previous publication to the node */
} gyre_publish_options;

typedef enum gyre_suppress_reason {
  GYRE_SUPPRESS_NONE = 0,
  GYRE_SUPPRESS_IDEMPOTENCY = 1,
  GYRE_SUPPRESS_VERSION = 2
} gyre_suppress_reason;

/* Outcome of a publish. position.offset is 0 and epoch empty when nothing was
 * stored. A suppressed publish was neither stored nor delivered. */
typedef struct gyre_publish_result {
  size_t size;
  gyre_stream_position position;
  gyre_suppress_reason suppressed;
} gyre_publish_result;

/* Which publications a history read returns (the SDK's engine-semantics.md):
 * limit 0 = none (position only), -1 = all, N = at most N; with a `since`
 * position, those after it (reverse: before it). The engine does not compare
 * epochs; the host does. */
typedef struct gyre_history_filter {
  size_t size;
  bool has_since;
  uint64_t since_offset;
  int32_t limit;
  bool reverse;
  uint32_t history_meta_ttl_s; /* refreshes the stream's meta TTL; 0 = the
                                  engine's default */
} gyre_history_filter;

/* ------------------------------------------------------------------------ */
/* Configuration schema                                                     */
/* ------------------------------------------------------------------------ */

typedef enum gyre_config_type {
  GYRE_CONFIG_STRING = 1,
  GYRE_CONFIG_INT = 2,
  GYRE_CONFIG_BOOL = 3,
  GYRE_CONFIG_DURATION_MS = 4, /* "500ms", "25s", "1m", "2h", or a number of ms */
  /* ABI 1.4: a string or an array of strings (read with config_get_list);
   * from the environment or a flag, items separated by spaces or commas.
   * Its default_value is one item, or NULL. */
  GYRE_CONFIG_STRING_LIST = 5
} gyre_config_type;

/* One setting a plugin accepts. The host validates the plugin's config
 * section against the table (unknown key or wrong type stops startup with a
 * message naming plugin and key) and serves values through config_get_*.
 * `default_value` is text in the setting's own syntax, or NULL for none.
 * The table ends with an entry whose key is NULL. All strings are static. */
typedef struct gyre_config_field {
  const char *key;
  gyre_config_type type;
  const char *default_value;
  const char *description;
} gyre_config_field;

/* ------------------------------------------------------------------------ */
/* Auth records (ABI 1.1)                                                    */
/* ------------------------------------------------------------------------ */

/* One HTTP header. Names are lower-case where the host produced them. */
typedef struct gyre_header {
  gyre_str name;
  gyre_str value;
} gyre_header;

/* Channel options an auth decision may override for one subscription
 * (Centrifugo's `override` claim). A bit set in override_mask replaces the
 * namespace's option with the same bit of override_values. */
#define GYRE_OVERRIDE_PRESENCE 1
#define GYRE_OVERRIDE_JOIN_LEAVE 2
#define GYRE_OVERRIDE_FORCE_PUSH_JOIN_LEAVE 4
#define GYRE_OVERRIDE_FORCE_RECOVERY 8
#define GYRE_OVERRIDE_FORCE_POSITIONING 16

/* A subscription an auth plugin grants: the answer to a subscribe or
 * sub_refresh, and each server-side subscription of a connect grant.
 *   channel: the channel (server-side subscriptions only; ignored in an
 *     answer to on_subscribe / on_sub_refresh, which name their channel).
 *   info: raw JSON shown to others as the subscriber's chan_info; empty =
 *     none (on sub_refresh: keep the current one). Must parse, like data.
 *   data: raw JSON for the client in the subscribe result; empty = none.
 *   expire_at: unix seconds when the subscription expires; 0 = never;
 *     in the past (or negative): error 110.
 *   client_side_refresh: true = the client refreshes it itself (the result
 *     carries expires/ttl; the SDK sends sub_refresh with a new token);
 *     false = the host calls on_sub_refresh (without a token) when it
 *     expires (ignored in the answer to that: the client is not told). A
 *     subscription that is not refreshed ends with unsubscribe 2501
 *     (server-side ones: disconnect 3006).
 *   override_mask / override_values: GYRE_OVERRIDE_* bits. */
typedef struct gyre_subscription_grant {
  size_t size;
  gyre_str channel;
  gyre_str info;
  gyre_str data;
  int64_t expire_at;
  bool client_side_refresh;
  uint32_t override_mask;
  uint32_t override_values;
} gyre_subscription_grant;

/* Who a connection is, as an auth plugin decides it (answer to on_connect
 * and on_refresh). info and data must be valid JSON (they reach other
 * clients as they are): a grant with invalid JSON is logged and answered as
 * 100. At most 1024 subs are made.
 *   user: the user id; empty = anonymous. On refresh it must equal the
 *     connection's user (else the host disconnects with 3500).
 *   info: raw JSON conn_info shown to others (presence, join/leave,
 *     publications); empty = none (on refresh: keep the current one).
 *   expire_at: unix seconds when the connection expires; 0 = never. In
 *     the past (or negative): the host answers error 110.
 *   client_side_refresh: true = the connect result carries expires/ttl and
 *     the client sends refresh with a new token in time (the host waits
 *     client.expired_close_delay past expiry, then disconnects with 3005);
 *     false = the host calls on_refresh (without a token) at expiry. In the
 *     answer to a refresh by the host it is ignored: the client was not
 *     asked and is not told, so the host goes on refreshing.
 *   data: raw JSON for the client in the connect result; empty = none.
 *   subs / num_subs: server-side subscriptions made before the connect
 *     reply (ignored on refresh). Each needs its channel set.
 *   meta (ABI 1.5): a raw JSON object the host keeps with the connection
 *     and never shows to clients; proxies with include_connection_meta get
 *     it in every request. Empty = none (on refresh: keep the current one).
 *     Anything but a JSON object is logged and answered as 100. */
typedef struct gyre_credentials {
  size_t size;
  gyre_str user;
  gyre_str info;
  int64_t expire_at;
  bool client_side_refresh;
  gyre_str data;
  const gyre_subscription_grant *subs;
  size_t num_subs;
  gyre_str meta; /* ABI 1.5 */
} gyre_credentials;

/* A connect command, for on_connect. The client id is assigned already.
 *   transport: "websocket" or the name a transport plugin gave its stream.
 *   token, data, name, version: the connect command's fields (data as raw
 *     JSON); empty when absent.
 *   headers: the HTTP request that opened the connection (lower-case
 *     names); emulated_headers: the connect command's `headers` map, which
 *     browsers use for what they cannot put in a WebSocket request. */
typedef struct gyre_connect_request {
  size_t size;
  gyre_str client;
  gyre_str transport;
  gyre_str token;
  gyre_str data;
  gyre_str name;
  gyre_str version;
  const gyre_header *headers;
  size_t num_headers;
  const gyre_header *emulated_headers;
  size_t num_emulated_headers;
} gyre_connect_request;

/* A refresh of a connection, for on_refresh. token is the refresh
 * command's token, or empty when the host refreshes on its own
 * (client_side_refresh false). info and expire_at (unix s) are current. */
typedef struct gyre_refresh_request {
  size_t size;
  gyre_str client;
  gyre_str user;
  gyre_str transport;
  gyre_str token;
  gyre_str info;
  int64_t expire_at;
} gyre_refresh_request;

/* A subscribe or sub_refresh, for on_subscribe / on_sub_refresh. token and
 * data are the command's (empty when absent; sub_refresh carries no data,
 * and no token when the host refreshes on its own). */
typedef struct gyre_subscribe_request {
  size_t size;
  gyre_str client;
  gyre_str user;
  gyre_str transport;
  gyre_str channel;
  gyre_str token;
  gyre_str data;
  gyre_str conn_info;
} gyre_subscribe_request;

/* ------------------------------------------------------------------------ */
/* Transport records (ABI 1.1)                                               */
/* ------------------------------------------------------------------------ */

/* A request on a route the transport registered, whatever its method
 * (GET, POST, HEAD, OPTIONS...: CORS and preflights are the plugin's to
 * answer). Everything is borrowed for the on_request call. method is upper
 * case as on the wire; path is not percent-decoded; query is the raw text
 * after '?' (not decoded either); body is complete (bounded by the host's
 * request size limit). */
typedef struct gyre_http_request {
  size_t size;
  gyre_str method;
  gyre_str path;
  gyre_str query;
  const gyre_header *headers; /* lower-case names */
  size_t num_headers;
  gyre_str body;
  uint32_t http_minor; /* HTTP/1.<minor>: 1 gets chunked streams, 0 not */
} gyre_http_request;

/* Stream flags (gyre_stream_options.flags). */
/* Upgrade to WebSocket (the request must be a valid upgrade, and its
 * Origin, if any, allowed by client.allowed_origins as on the server's own
 * endpoint; otherwise the host answers 400/403/426 and the exchange ends).
 * Messages from the peer reach on_message; each encoded message goes out
 * as one text frame. Without this flag the stream is a streaming HTTP
 * response (chunked on HTTP/1.1). */
#define GYRE_STREAM_WEBSOCKET 1
/* Unidirectional: the peer sends no commands. The first stream_deliver
 * carries a bare connect request object (`{}` when empty), later ones are
 * ignored; the session writes pushes without the {"push":...} wrapper, the
 * connect result as a {"connect":{...}} push, pings as `{}` expecting no
 * pong, and turns connect errors into disconnects. On the wire, in order:
 *   {"connect":{"client":"...","version":"...","ping":25,"session":"..."}}
 *   {"channel":"news","subscribe":{}}          (a server-side subscription)
 *   {"channel":"news","pub":{"data":{"x":1}}}  (a publication)
 *   {}                                          (a ping)
 *   {"disconnect":{"code":3001,"reason":"shutdown"}}
 * Its `session` id is informational (Centrifugo sends one): only emulation
 * sessions take commands through session_deliver. */
#define GYRE_STREAM_UNIDIRECTIONAL 2
/* Emulation (SSE / HTTP-streaming with commands POSTed separately): the
 * connect result carries `session` and `node`, and api->session_deliver
 * reaches the session by them. */
#define GYRE_STREAM_EMULATION 4
/* On a disconnect, write a disconnect push (encoded like every message)
 * before ending the stream. An HTTP stream has no close frame to carry the
 * code: without this flag its client sees the stream end and nothing else,
 * so set it on every HTTP stream (a WebSocket gets a close frame anyway). */
#define GYRE_STREAM_DISCONNECT_PUSH 8

/* How to open a stream (api->stream_open).
 *   transport: the session's transport name, as clients, auth plugins and
 *     logs see it (e.g. "sse"); copied. Empty: the plugin's name.
 *   framing: the plugin's own number (any value, 0 too), handed to encode
 *     as it is; the host shares encoded bytes between streams of one
 *     framing of one plugin.
 *   status / headers: the HTTP response head of a streaming response (0 =
 *     200; 200..599); for WebSocket, extra headers of the 101 answer.
 *     Copied. The host adds only what framing needs (Transfer-Encoding:
 *     chunked on HTTP/1.1, Connection: close on 1.0; the upgrade headers):
 *     Content-Type, Cache-Control and the rest are the plugin's. A header
 *     with an empty name, a ':' in its name, or CR/LF anywhere is refused
 *     (GYRE_ERR_INVALID, nothing sent). */
typedef struct gyre_stream_options {
  size_t size;
  gyre_str transport;
  uint32_t flags;
  uint32_t framing;
  int status;
  const gyre_header *headers;
  size_t num_headers;
} gyre_stream_options;

/* ------------------------------------------------------------------------ */
/* Host API: what the host offers a plugin                                   */
/* ------------------------------------------------------------------------ */

typedef void (*gyre_callback_fn)(void *arg);
/* events is a mask of GYRE_WATCH_READ / GYRE_WATCH_WRITE that became ready. */
typedef void (*gyre_watch_fn)(int fd, int events, void *arg);

#define GYRE_WATCH_READ 1
#define GYRE_WATCH_WRITE 2

typedef struct gyre_host_api {
  uint32_t abi_major; /* host's GYRE_ABI_MAJOR */
  uint32_t abi_minor; /* host's GYRE_ABI_MINOR */
  size_t size;        /* sizeof(gyre_host_api) in the host */

  /* log: one line at `level`, prefixed with the plugin's name. Never pass
   * secrets. msg is borrowed. THREAD-SAFE (since 1.1; loop thread in 1.0). */
  void (*log)(gyre_host *host, gyre_log_level level, gyre_str msg);

  /* now_ms: the calling thread's loop's cached wall-clock time in unix
   * milliseconds (updated once per loop turn). THREAD-SAFE (since 1.1). */
  int64_t (*now_ms)(gyre_host *host);

  /* timer_start: run cb(arg) on the loop after delay_ms, and again every
   * delay_ms when `repeat`. Returns NULL on failure. The handle stays valid
   * until timer_stop (which may be called from inside cb) or, for a one-shot
   * timer, until cb returns; do not stop a one-shot timer after it fired. */
  gyre_timer *(*timer_start)(gyre_host *host, uint64_t delay_ms, bool repeat, gyre_callback_fn cb,
                             void *arg);
  void (*timer_stop)(gyre_host *host, gyre_timer *timer);

  /* watch_start: call cb when fd becomes readable/writable as `events` asks.
   * The plugin keeps owning fd and must watch_stop before closing it.
   * watch_update changes the mask (0 pauses the watch). */
  gyre_watch *(*watch_start)(gyre_host *host, int fd, int events, gyre_watch_fn cb, void *arg);
  void (*watch_update)(gyre_host *host, gyre_watch *watch, int events);
  void (*watch_stop)(gyre_host *host, gyre_watch *watch);

  /* post: THREAD-SAFE. Run fn(arg) on the loop thread soon. Returns
   * GYRE_ERR_UNAVAILABLE once the host is shutting down (fn will not run). */
  gyre_status (*post)(gyre_host *host, gyre_callback_fn fn, void *arg);

  /* config_get_*: the value of `key` from this plugin's config section, or
   * the schema default. Return false when neither exists or the type differs.
   * config_get_string's view stays valid until the plugin is destroyed. */
  bool (*config_get_string)(gyre_host *host, const char *key, gyre_str *out);
  bool (*config_get_int)(gyre_host *host, const char *key, int64_t *out);
  bool (*config_get_bool)(gyre_host *host, const char *key, bool *out);
  bool (*config_get_duration_ms)(gyre_host *host, const char *key, int64_t *out);

  /* Completions. Each op is completed exactly once, with the call that
   * matches the operation (see gyre_engine_ops); `complete` fits every op
   * and is the one to use for failures. message is borrowed, may be empty,
   * and is logged by the host, never shown to clients. */
  void (*complete)(gyre_op *op, gyre_status status, gyre_str message);
  void (*complete_publish)(gyre_op *op, const gyre_publish_result *result);
  /* pubs: n borrowed pointers, in the order the filter asked for. */
  void (*complete_history)(gyre_op *op, const gyre_publication *const *pubs, size_t n,
                           const gyre_stream_position *top);
  /* infos: n borrowed pointers, one per connection present. */
  void (*complete_presence)(gyre_op *op, const gyre_client_info *const *infos, size_t n);
  void (*complete_presence_stats)(gyre_op *op, uint32_t num_clients, uint32_t num_users);

  /* Engine events, delivered to the node for fan-out to local subscribers.
   * handle_publication: a publication for `channel` (from this node or
   * another). `prev` is the previous publication when the publish asked for
   * use_delta, else NULL. All pointers borrowed. */
  void (*handle_publication)(gyre_host *host, gyre_str channel, const gyre_publication *pub,
                             const gyre_stream_position *position, const gyre_publication *prev);
  void (*handle_join)(gyre_host *host, gyre_str channel, const gyre_client_info *info);
  void (*handle_leave)(gyre_host *host, gyre_str channel, const gyre_client_info *info);

  /* ---- ABI 1.1: check api->abi_minor >= 1 (or api->size) before use ---- */

  /* Auth answers (see gyre_auth_ops). Loop thread. Each answers its op
   * exactly once; records and strings are borrowed for the call.
   * auth_grant: allow a connect or a refresh with these credentials.
   * auth_grant_subscription: allow a subscribe or a sub_refresh.
   * auth_deny: refuse. code 100..1999: an error reply whose message is
   *   `reason` (`temporary`: the client may retry); 3000..4999: disconnect
   *   with this code and reason. Any other code is answered as 100.
   * The wrong answer for an op (auth_grant to a subscribe) is logged and
   * answered as 100. */
  void (*auth_grant)(gyre_auth_op *op, const gyre_credentials *creds);
  void (*auth_grant_subscription)(gyre_auth_op *op, const gyre_subscription_grant *grant);
  void (*auth_deny)(gyre_auth_op *op, uint32_t code, gyre_str reason, bool temporary);

  /* route_add: claim an exact request path (e.g. "/connection/sse") for
   * this transport plugin: its requests reach on_request. Only inside init.
   * GYRE_ERR_INVALID when the path is empty, does not start with '/', or is
   * taken by the server or another plugin (startup then fails naming it if
   * init returns an error, as it should). path is copied. */
  gyre_status (*route_add)(gyre_host *host, gyre_str path);

  /* Stream calls. STREAM THREAD: only on the stream's worker, inside one of
   * that stream's hooks (on_request, on_message). Everything is copied.
   * http_respond: answer with a complete response (status 100..599, extra
   *   headers checked as in gyre_stream_options, body; the host adds
   *   Content-Length and no Content-Type). Only inside on_request, instead
   *   of stream_open; the exchange ends when on_request returns.
   * stream_open: make the exchange a stream carrying a new client session
   *   (see gyre_stream_options). Only inside on_request. GYRE_ERR_INVALID
   *   when a WebSocket upgrade is not possible: the host has then answered
   *   with an HTTP error, and no other hook of this stream runs;
   *   GYRE_ERR_UNAVAILABLE when the connection is gone (nothing to answer:
   *   return GYRE_OK from on_request).
   * stream_write: raw bytes outside the session's messages (an SSE
   *   preamble, padding): one chunk of a streaming response, one text frame
   *   on WebSocket. After stream_open.
   * stream_deliver: command text for the session, as a WebSocket frame
   *   carries it (newline-separated commands; on a unidirectional stream,
   *   one connect request). After stream_open. GYRE_OK once handed over:
   *   the session judges the text itself (malformed: it closes with 3501)
   *   and may answer, and even close, before the call returns; on_close
   *   still waits for the hook to return. GYRE_ERR_UNAVAILABLE when the
   *   session has ended already.
   * stream_close: end the session with a disconnect code (3000..4999) and
   *   reason. After stream_open; on_close follows once the hook returned. */
  gyre_status (*http_respond)(gyre_stream *stream, int status, const gyre_header *headers,
                              size_t num_headers, gyre_str body);
  gyre_status (*stream_open)(gyre_stream *stream, const gyre_stream_options *opts);
  gyre_status (*stream_write)(gyre_stream *stream, gyre_str bytes);
  gyre_status (*stream_deliver)(gyre_stream *stream, gyre_str data);
  void (*stream_close)(gyre_stream *stream, uint32_t code, gyre_str reason);

  /* session_deliver: THREAD-SAFE. Command text for the emulation session
   * `session` held by node `node` (both from its connect result). Returns
   * GYRE_ERR_NOT_FOUND when no node of that id is known; an unknown
   * session on a known node is ignored (GYRE_OK), as Centrifugo does. The
   * commands run later on the session's worker; replies travel on its
   * stream, never back to the caller. Copied. */
  gyre_status (*session_deliver)(gyre_host *host, gyre_str node, gyre_str session, gyre_str data);

  /* buffer_append: add bytes to the buffer an encode hook fills. Only
   * inside encode, on its thread. Copied. */
  gyre_status (*buffer_append)(gyre_buffer *buf, gyre_str bytes);

  /* ---- ABI 1.3: check api->abi_minor >= 3 (or api->size) before use ---- */

  /* origin_allowed: THREAD-SAFE. May a request whose Origin header is
   * `origin` (empty: the request had none) proceed, by the server's
   * client.allowed_origins? True for an empty origin (not a cross-site
   * browser request); false for any Origin when the list is empty, as
   * Centrifugo does. host_header is the request's Host (borrowed, like
   * origin). A transport answers CORS with it: allowed -> echo the Origin in
   * Access-Control-Allow-Origin; not allowed -> refuse (403). */
  bool (*origin_allowed)(gyre_host *host, gyre_str origin, gyre_str host_header);

  /* ---- ABI 1.4: check api->abi_minor >= 4 (or api->size) before use ---- */
  /* Node-to-node traffic for engines that connect several nodes (see
   * gyre_engine_ops.publish_control). */

  /* node_id: this node's id, unique per process start (the `node` of
   * connect results and of `info`). THREAD-SAFE; the view stays valid until
   * the plugin is destroyed. An engine routes unicast control messages to
   * it. */
  gyre_str (*node_id)(gyre_host *host);
  /* handle_control: a control message arrived (the bytes some node, this
   * one included, gave publish_control addressed to this node or to all).
   * Loop thread; data borrowed for the call. The host parses and bounds the
   * bytes itself (malformed ones are counted and dropped), and makes no
   * engine call from inside it. */
  void (*handle_control)(gyre_host *host, gyre_str data);
  /* handle_resync: events of `channel` (empty: of every channel) may have
   * been lost on their way to this node, e.g. because the engine's
   * subscription connection was re-established. The host then reads each
   * such channel's top position (history with limit 0) and makes every
   * positioned subscriber whose position differs recover: unsubscribe 2500
   * (the SDK resubscribes and recovers from history), or disconnect 3010
   * for server-side subscriptions. Loop thread; may be called from inside
   * any engine callback; channel borrowed. */
  void (*handle_resync)(gyre_host *host, gyre_str channel);
  /* config_get_list: item `index` (from 0) of a GYRE_CONFIG_STRING_LIST
   * setting (a single string is a list of one). False past the end, or when
   * the key is not a list setting. The view stays valid until the plugin is
   * destroyed. Loop thread. */
  bool (*config_get_list)(gyre_host *host, const char *key, size_t index, gyre_str *out);
} gyre_host_api;

/* ------------------------------------------------------------------------ */
/* Engine: broker + presence manager                                        */
/* ------------------------------------------------------------------------ */

/* Every engine hook receives the plugin's state first and runs on the loop
 * thread. A hook that returns GYRE_OK has taken the op and completes it
 * exactly once (possibly before returning: the host tolerates that). A hook
 * that returns anything else has not taken it and never completes it.
 * Hooks may call into the host (including handle_publication) before they
 * return. The plugin a node runs as its engine must fill the broker hooks
 * (subscribe, unsubscribe, publish, publish_join, publish_leave, history,
 * remove_history): startup fails naming the missing ones. The presence hooks
 * may be NULL: the node then has no presence manager (presence requests get
 * "not available").
 *
 * Broker part:
 *   subscribe / unsubscribe: this node wants / no longer wants events for
 *     channel (called once per channel, when its first local subscriber
 *     arrives / its last leaves). Complete with `complete`.
 *   publish: store (per opts) and deliver pub to every node subscribed to
 *     channel through handle_publication. Complete with complete_publish.
 *     pub->offset is ignored: the engine assigns offsets. Without history,
 *     the delivered publication has offset 0 and the position {0, ""}.
 *     The host never calls a hook from inside handle_publication,
 *     handle_join or handle_leave; it may call hooks from a completion.
 *   publish_join / publish_leave: deliver a join/leave to every subscribed
 *     node through handle_join/handle_leave. Complete with `complete`.
 *   history: read per filter. Complete with complete_history, whose top is
 *     the stream's current position (creating the stream, with a new epoch,
 *     if it did not exist).
 *   remove_history: drop stored publications, keep top and epoch.
 * Presence part:
 *   presence_add: record info as present in channel for ttl_s seconds
 *     (refreshed by calling again; ttl_s 0 = no expiry).
 *   presence_remove: forget client_id (`user` is its user id, for engines
 *     that count users).
 *   presence_get: complete_presence. presence_stats: complete_presence_stats
 *     (num_users counts distinct non-empty and empty user ids alike).
 */
typedef struct gyre_engine_ops {
  size_t size;
  gyre_status (*subscribe)(void *state, gyre_str channel, gyre_op *op);
  gyre_status (*unsubscribe)(void *state, gyre_str channel, gyre_op *op);
  gyre_status (*publish)(void *state, gyre_str channel, const gyre_publication *pub,
                         const gyre_publish_options *opts, gyre_op *op);
  gyre_status (*publish_join)(void *state, gyre_str channel, const gyre_client_info *info,
                              gyre_op *op);
  gyre_status (*publish_leave)(void *state, gyre_str channel, const gyre_client_info *info,
                               gyre_op *op);
  gyre_status (*history)(void *state, gyre_str channel, const gyre_history_filter *filter,
                         gyre_op *op);
  gyre_status (*remove_history)(void *state, gyre_str channel, gyre_op *op);
  gyre_status (*presence_add)(void *state, gyre_str channel, const gyre_client_info *info,
                              uint32_t ttl_s, gyre_op *op);
  gyre_status (*presence_remove)(void *state, gyre_str channel, gyre_str client_id, gyre_str user,
                                 gyre_op *op);
  gyre_status (*presence_get)(void *state, gyre_str channel, gyre_op *op);
  gyre_status (*presence_stats)(void *state, gyre_str channel, gyre_op *op);
  /* ABI 1.4. publish_control: deliver `data` (opaque bytes, at most
   * 1 MiB) to the node whose node_id is `node` (empty: to every node, this
   * one included) through its handle_control. Delivery is at most once; the
   * order of messages from one node to another is kept. Complete with
   * `complete` once the engine handed the message on (GYRE_OK), or with an
   * error when it cannot (GYRE_ERR_UNAVAILABLE while the backend is down).
   * NULL: a single-node engine; the host then keeps node-to-node work
   * local (server API calls act on this node's connections only). */
  gyre_status (*publish_control)(void *state, gyre_str node, gyre_str data, gyre_op *op);
} gyre_engine_ops;

/* ------------------------------------------------------------------------ */
/* Auth hooks (ABI 1.1)                                                      */
/* ------------------------------------------------------------------------ */

/* Auth hooks decide who a connection is and which channels it may
 * subscribe to. Auth plugins form a chain in load order: the host asks
 * each in turn until one decides. When every one declines, the host's own
 * rules apply: anonymous connections as client.allow_anonymous_connect_
 * without_token says, subscriptions as the namespace's allow_* options
 * say, and a token nobody verified is invalid (connect and refresh: 3500;
 * subscribe: 103).
 * Every hook runs on the loop thread; the request and everything it points
 * to are borrowed for the call. A hook returns:
 *   GYRE_DECLINED   not mine: op untouched, the next plugin is asked;
 *   GYRE_PENDING    the plugin took op and answers it exactly once, before
 *                   returning or later (after a backend call, from a post);
 *   GYRE_OK         the same as GYRE_PENDING (for hooks that answered);
 *   an error        op untouched: the host answers error 100 (temporary:
 *                   the client retries).
 * A NULL hook declines. The host bounds nothing: a plugin that waits on a
 * backend must time out itself (a connect also ends at
 * client.stale_close_delay, 3502).
 *
 * on_connect: a connect command. auth_grant, or auth_deny: 3500 invalid
 *   token, 109 token expired (the SDK fetches a new token and reconnects),
 *   101 unauthorized, 3507 permission denied.
 * on_refresh: refresh of a connection, by the client's refresh command
 *   (with its token) or by the host at expiry (no token; client_side_
 *   refresh was false). auth_grant (expire_at = the new expiry, 0 = never;
 *   user must not change), or auth_deny (3005 expired, 3500 invalid).
 * on_subscribe: a client's subscribe, after the host checked the channel
 *   name, namespace and limits, before its own permission rules.
 *   auth_grant_subscription allows (whatever the namespace's allow_*
 *   options say); auth_deny refuses (103 permission denied, 109 token
 *   expired: the SDK fetches a new subscription token).
 * on_sub_refresh: refresh of a subscription (client sub_refresh with a
 *   token, or the host at expiry). auth_grant_subscription or auth_deny.
 * flags: GYRE_AUTH_TOKEN_ONLY = ask this plugin only about requests that
 *   carry a token (it then never sees the others, which saves their trip
 *   to the loop thread). */
#define GYRE_AUTH_TOKEN_ONLY 1

typedef struct gyre_auth_ops {
  size_t size;
  uint32_t flags;
  gyre_status (*on_connect)(void *state, const gyre_connect_request *req, gyre_auth_op *op);
  gyre_status (*on_refresh)(void *state, const gyre_refresh_request *req, gyre_auth_op *op);
  gyre_status (*on_subscribe)(void *state, const gyre_subscribe_request *req, gyre_auth_op *op);
  gyre_status (*on_sub_refresh)(void *state, const gyre_subscribe_request *req, gyre_auth_op *op);
} gyre_auth_ops;

/* ------------------------------------------------------------------------ */
/* Transport hooks (ABI 1.1)                                                 */
/* ------------------------------------------------------------------------ */

/* A transport carries client sessions over HTTP requests it claims with
 * api->route_add: streaming responses (SSE, HTTP-streaming) or WebSockets
 * of its own. The host runs the session (commands, replies, pushes, pings,
 * auth, limits: the same client protocol as on /connection/websocket); the
 * plugin decides how a request opens one, feeds it commands, and says how
 * each message looks on the wire.
 * Every hook but encode runs on the stream's worker thread (THREADING).
 *
 * on_request: a request on a claimed path. Required. Before returning,
 *   answer with http_respond, or open a session with stream_open (then
 *   stream_write / stream_deliver as needed, e.g. deliver the connect
 *   command carried by the request). *stream_state starts NULL; what the
 *   plugin stores there is handed to this stream's later hooks. Return
 *   GYRE_OK; an error status, or no answer, makes the host answer 500 (a
 *   stream opened already is closed with 3004).
 * encode: the bytes one session message becomes on a stream of `framing`
 *   (e.g. SSE's "data: <message>\n\n"). message is one JSON document
 *   without newlines: a reply or a push (bare pushes on unidirectional
 *   streams). Runs on any worker thread, concurrently, and must depend only
 *   on framing and message: the host encodes a publication once per
 *   framing and shares the bytes among every stream of that framing. Fill
 *   out with buffer_append; an error status drops the message and closes
 *   the stream with 3004. NULL: messages go out as they are.
 * on_message: a WebSocket stream received a message (`binary` for a binary
 *   frame). Typically stream_deliver for text, stream_close(3501) for
 *   binary. NULL: text is delivered, binary closes with 3501.
 * on_close: the stream ended: its session disconnected with code/reason,
 *   or the peer went away (3000 "connection closed"). Called once for each
 *   stream that stream_open opened, never for a plain response. Free
 *   stream_state; make no stream call. The handle is invalid afterwards. */
typedef struct gyre_transport_ops {
  size_t size;
  gyre_status (*on_request)(void *state, gyre_stream *stream, const gyre_http_request *req,
                            void **stream_state);
  gyre_status (*encode)(void *state, uint32_t framing, gyre_str message, gyre_buffer *out);
  void (*on_message)(void *state, gyre_stream *stream, void *stream_state, gyre_str data,
                     bool binary);
  void (*on_close)(void *state, gyre_stream *stream, void *stream_state, uint32_t code,
                   gyre_str reason);
} gyre_transport_ops;

/* ------------------------------------------------------------------------ */
/* Command lines (ABI 1.2)                                                   */
/* ------------------------------------------------------------------------ */

/* A subcommand of the gyre binary that a plugin provides: `gyre <name>
 * [-c FILE] args...` loads the config (FILE, default config.json), loads
 * and initializes the plugins it asks for, runs the command of the first
 * plugin offering <name>, destroys the plugins and exits with the command's
 * status. The server does not start.
 *   name: the subcommand (must not be one of the server's own: serve,
 *     genconfig, checkconfig, plugins, version, help).
 *   summary: one line for the list of commands; usage: the whole text of
 *     `gyre <name> --help`, printed by the host.
 *   run: on the main thread, after init and before destroy, with no loop
 *     running (timers and watches do not fire, posted functions do not
 *     run; blocking is fine here). argv[0] is the command's name and the
 *     host has taken `-c FILE` out. Prints to stdout / stderr as a command
 *     line tool does (secrets only when that is the command's point, e.g.
 *     a token it mints); returns the exit status: 0 done, 1 failed, 2 bad
 *     usage. argv is borrowed for the call. */
typedef struct gyre_command {
  const char *name;
  const char *summary;
  const char *usage;
  int (*run)(void *state, int argc, const char *const *argv);
} gyre_command;

/* ------------------------------------------------------------------------ */
/* Plugin descriptor and entry point                                        */
/* ------------------------------------------------------------------------ */

/* init: called once on the loop thread after the ABI and config checks.
 *   api and host stay valid until destroy returns. Store your state in
 *   *state. Return GYRE_OK, or an error after logging why: the host then
 *   unwinds (destroy is NOT called; timers and watches started during init
 *   are stopped by the host) and stops startup. Free what init allocated
 *   before returning the error.
 * destroy: called once on the loop thread at shutdown, after the last hook.
 *   Free everything; stop every timer and watch (the host stops any left,
 *   with a warning naming the plugin). No op is pending then. */
typedef struct gyre_plugin_descriptor {
  size_t size;
  uint32_t abi_major;                     /* GYRE_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;                     /* GYRE_ABI_MINOR the plugin was built with */
  const char *name;                       /* unique, e.g. "engine-memory" */
  const char *version;                    /* the plugin's own version */
  const char *description;                /* one line */
  uint32_t kinds;                         /* gyre_plugin_kind bits */
  const gyre_config_field *config_schema; /* NULL or terminated by key NULL */
  gyre_status (*init)(const gyre_host_api *api, gyre_host *host, void **state);
  void (*destroy)(void *state);
  const gyre_engine_ops *engine; /* required when kinds has ENGINE */
  /* ---- ABI 1.1 (a 1.0 descriptor ends above: these read as NULL) ---- */
  /* config_section: NULL = settings come from plugins.load[].config. Else
   * a dotted path into the server's own config ("engine.redis"; "" = the
   * top level) holding this plugin's settings, so that configs written for
   * Centrifugo keep working. Schema keys may then be dotted paths below it
   * ("token.hmac_secret_key"). The host checks the declared keys there
   * (from the config file, or GYRE_<PATH>_<KEY> environment variables,
   * which win), leaves the section's other keys to the server's own checks,
   * and refuses a plugins.load entry that also gives `config`. */
  const char *config_section;
  const gyre_auth_ops *auth;           /* required when kinds has AUTH */
  const gyre_transport_ops *transport; /* required when kinds has TRANSPORT */
  /* ---- ABI 1.2 ---- */
  /* commands: NULL, or a table ending with an entry whose name is NULL.
   * Static, like the config schema. */
  const gyre_command *commands;
} gyre_plugin_descriptor;

/* The one symbol a plugin exports. Returns a pointer to a static descriptor
 * (never copied by the host beyond descriptor->size), or NULL to refuse to
 * load (e.g. a missing CPU feature), after printing why to stderr. */
#define GYRE_PLUGIN_ENTRY_SYMBOL "gyre_plugin_entry"
typedef const gyre_plugin_descriptor *(*gyre_plugin_entry_fn)(void);

#ifdef __cplusplus
#define GYRE_EXTERN_C extern "C"
#else
#define GYRE_EXTERN_C
#endif
#define GYRE_PLUGIN_DEFINE(descriptor)                                                     \
  GYRE_EXTERN_C GYRE_PLUGIN_EXPORT const gyre_plugin_descriptor *gyre_plugin_entry(void) { \
    return &(descriptor);                                                                  \
  }

#ifdef __cplusplus
}
#endif

#endif /* GYRE_PLUGIN_H */

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
 *
 * THREADING
 *   The host runs several event loops, one per thread ("workers",
 *   node.workers, one per core by default). Connections and clients are
 *   spread over the workers; the first worker's loop, on the main thread,
 *   is "the loop" of this header: it alone talks to plugins. Every hook a
 *   plugin implements is called on that loop's thread, never concurrently
 *   with another hook of the same plugin, and every host API function must
 *   be called from it, except the ones whose comment says "thread-safe"
 *   (only `post`). A plugin that uses threads of its own brings results back
 *   to the loop with `post`.
 *   Requests from clients on other workers reach an engine as ordinary hook
 *   calls on the loop thread (the host copies their arguments across), and
 *   the host copies completions and events before handing them to other
 *   workers: a plugin never sees a worker thread, and what it passes to a
 *   completion or event call needs to live only for that call.
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
 * NAMING
 *   gyre_ types and functions, GYRE_ constants. Hooks a plugin implements are
 *   members of an `_ops` table; host calls are members of gyre_host_api.
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
#define GYRE_ABI_MINOR 0

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

/* Plugin kinds, combined as a bit mask in the descriptor. ABI 1.0 defines
 * engines only; transports and auth hooks are appended in later minors. */
typedef enum gyre_plugin_kind { GYRE_PLUGIN_ENGINE = 1 } gyre_plugin_kind;

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

/* Which publications a history read returns (docs/engine-semantics.md):
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
  GYRE_CONFIG_DURATION_MS = 4 /* "500ms", "25s", "1m", "2h", or a number of ms */
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
   * secrets. msg is borrowed. */
  void (*log)(gyre_host *host, gyre_log_level level, gyre_str msg);

  /* now_ms: the loop's cached wall-clock time in unix milliseconds. */
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
} gyre_engine_ops;

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

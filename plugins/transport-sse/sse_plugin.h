/* The plugin's shared state: its settings, read once in init and only read
 * afterwards, so every worker thread may use them without a lock (the
 * THREADING rule of gyre/plugin.h). */
#ifndef GYRE_TRANSPORT_SSE_PLUGIN_H
#define GYRE_TRANSPORT_SSE_PLUGIN_H

#include <gyre/plugin.h>

/* The endpoints this plugin can serve, each a Centrifugo v6 config section. */
typedef enum sse_route_kind {
  ROUTE_SSE = 0,         /* sse: GET ?cf_connect=<command>, bidirectional emulation */
  ROUTE_HTTP_STREAM,     /* http_stream: POST <command>, bidirectional emulation */
  ROUTE_UNI_SSE,         /* uni_sse: GET ?cf_connect=<request> or POST <request> */
  ROUTE_UNI_HTTP_STREAM, /* uni_http_stream: POST <request> */
  ROUTE_UNI_WEBSOCKET,   /* uni_websocket: GET upgrade */
  ROUTE_EMULATION,       /* emulation: POST {session, node, data} */
  ROUTE_COUNT
} sse_route_kind;

typedef struct sse_route {
  bool enabled;
  gyre_str prefix;  /* the exact path; a view into the host's config (valid until destroy) */
  int64_t max_body; /* request body limit in bytes: 413 above */
} sse_route;

/* Message framings (gyre_stream_options.framing): how encode wraps one
 * session message. */
#define SSE_FRAMING_EVENTS 1 /* "data: <json>\n\n" */
#define SSE_FRAMING_LINES 2  /* "<json>\n" */
#define SSE_FRAMING_FRAMES 3 /* the message as it is (one WebSocket frame) */

typedef struct sse_plugin {
  const gyre_host_api *api;
  gyre_host *host;
  sse_route routes[ROUTE_COUNT];
} sse_plugin;

gyre_str sse_cstr(const char *s);
bool sse_str_eq(gyre_str a, const char *b);

#endif

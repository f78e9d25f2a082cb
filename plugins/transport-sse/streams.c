#include "streams.h"

#include <stdlib.h>
#include <string.h>

#include "cors.h"
#include "reply.h"
#include "request.h"

/* How each HTTP stream looks (Centrifugo's handlers, spec §8.2-8.3, 8.7). */
typedef struct stream_kind {
  const char *transport;
  uint32_t flags;
  uint32_t framing;
  const char *content_type; /* NULL: none, as Centrifugo's http_stream */
  const char *methods;      /* for Allow and preflights */
  bool takes_get;           /* the connect in ?cf_connect= */
  bool get_needs_connect;   /* a missing cf_connect is an error (else {}) */
  sse_connect_form form;
  bool preamble; /* "\r\n" first, which pushes the headers through proxies */
} stream_kind;

#define EMU (GYRE_STREAM_EMULATION | GYRE_STREAM_DISCONNECT_PUSH)
#define UNI (GYRE_STREAM_UNIDIRECTIONAL | GYRE_STREAM_DISCONNECT_PUSH)
#define EVENT_STREAM "text/event-stream; charset=utf-8"

static const stream_kind kKinds[] = {
    [ROUTE_SSE] = {"sse", EMU, SSE_FRAMING_EVENTS, EVENT_STREAM, "GET, POST, OPTIONS", true, true,
                   SSE_CONNECT_COMMAND, true},
    [ROUTE_HTTP_STREAM] = {"http_stream", EMU, SSE_FRAMING_LINES, NULL, "POST, OPTIONS", false,
                           false, SSE_CONNECT_COMMAND, false},
    [ROUTE_UNI_SSE] = {"uni_sse", UNI, SSE_FRAMING_EVENTS, EVENT_STREAM, "GET, POST, OPTIONS", true,
                       false, SSE_CONNECT_REQUEST, true},
    [ROUTE_UNI_HTTP_STREAM] = {"uni_http_stream", UNI, SSE_FRAMING_LINES, NULL, "POST, OPTIONS",
                               false, false, SSE_CONNECT_REQUEST, false},
};

static bool is_method(const gyre_http_request *req, const char *m) {
  return sse_str_eq(req->method, m);
}

/* Nothing between the server and the client may cache or buffer a stream. */
static size_t stream_headers(const stream_kind *k, const sse_cors *cors, gyre_header *out) {
  size_t n = 0, i;
  if (k->content_type) {
    out[n].name = sse_cstr("Content-Type");
    out[n++].value = sse_cstr(k->content_type);
  }
  out[n].name = sse_cstr("Cache-Control");
  out[n++].value = sse_cstr("private, no-cache, no-store, must-revalidate, max-age=0");
  out[n].name = sse_cstr("Pragma");
  out[n++].value = sse_cstr("no-cache");
  out[n].name = sse_cstr("Expires");
  out[n++].value = sse_cstr("0");
  out[n].name = sse_cstr("X-Accel-Buffering");
  out[n++].value = sse_cstr("no");
  for (i = 0; i < cors->count; i++) out[n++] = cors->headers[i];
  return n;
}

gyre_status sse_open_http_stream(const sse_plugin *p, sse_route_kind kind, gyre_stream *s,
                                 const gyre_http_request *req) {
  const stream_kind *k = &kKinds[kind];
  const sse_route *route = &p->routes[kind];
  sse_cors cors;
  gyre_header headers[12];
  gyre_stream_options opts;
  gyre_str connect = req->body;
  char *decoded = NULL;
  const char *problem;
  gyre_status st;

  if (!sse_cors_check(p, req, &cors)) return sse_reply(p, s, 403, NULL, "origin not allowed");
  if (is_method(req, "OPTIONS")) return sse_preflight(p, s, &cors, k->methods);
  if (is_method(req, "GET") && k->takes_get) {
    size_t len = 0;
    int found = sse_query_param(req->query, "cf_connect", &decoded, &len);
    if (found == -2) return sse_reply(p, s, 503, &cors, "out of memory");
    if (found == -1) return sse_reply(p, s, 400, &cors, "bad percent-encoding in cf_connect");
    connect.ptr = decoded;
    connect.len = found ? len : 0;
    if (connect.len == 0 && k->get_needs_connect) {
      free(decoded);
      return sse_reply(p, s, 400, &cors, "cf_connect is missing");
    }
  } else if (is_method(req, "POST")) {
    if ((int64_t)req->body.len > route->max_body)
      return sse_reply(p, s, 413, &cors, "request body too large");
  } else {
    return sse_method_not_allowed(p, s, &cors, k->methods);
  }
  /* A unidirectional client may say nothing: it connects with {}. */
  if (connect.len == 0 && k->form == SSE_CONNECT_REQUEST) connect = sse_cstr("{}");
  problem = sse_connect_problem(connect, k->form);
  if (problem) {
    free(decoded);
    return sse_reply(p, s, 400, &cors, problem);
  }

  memset(&opts, 0, sizeof opts);
  opts.size = sizeof opts;
  opts.transport = sse_cstr(k->transport);
  opts.flags = k->flags;
  opts.framing = k->framing;
  opts.status = 200;
  opts.headers = headers;
  opts.num_headers = stream_headers(k, &cors, headers);
  st = p->api->stream_open(s, &opts);
  if (st != GYRE_OK) {
    free(decoded);
    return st == GYRE_ERR_UNAVAILABLE ? GYRE_OK : st; /* UNAVAILABLE: the peer left */
  }
  if (k->preamble) (void)p->api->stream_write(s, sse_cstr("\r\n"));
  /* A failed deliver means the session has ended already: nothing to do. */
  (void)p->api->stream_deliver(s, connect);
  free(decoded);
  return GYRE_OK;
}

gyre_status sse_open_uni_websocket(const sse_plugin *p, gyre_stream *s,
                                   const gyre_http_request *req) {
  gyre_stream_options opts;
  char *decoded = NULL;
  size_t len = 0;
  int found;
  gyre_status st;

  if (!is_method(req, "GET")) return sse_method_not_allowed(p, s, NULL, "GET");
  /* The connect request in the query (Centrifugo 6.3+), or else the first
   * message: the host's default on_message hands that to the session. */
  found = sse_query_param(req->query, "cf_connect", &decoded, &len);
  if (found == -2) return sse_reply(p, s, 503, NULL, "out of memory");
  if (found == -1) return sse_reply(p, s, 400, NULL, "bad percent-encoding in cf_connect");
  if (found && len > 0) {
    gyre_str text = {decoded, len};
    const char *problem = sse_connect_problem(text, SSE_CONNECT_REQUEST);
    if (problem) {
      free(decoded);
      return sse_reply(p, s, 400, NULL, problem);
    }
  }
  memset(&opts, 0, sizeof opts);
  opts.size = sizeof opts;
  opts.transport = sse_cstr("uni_websocket");
  opts.flags = GYRE_STREAM_WEBSOCKET | UNI;
  opts.framing = SSE_FRAMING_FRAMES;
  st = p->api->stream_open(s, &opts);
  if (st != GYRE_OK) {
    free(decoded);
    /* INVALID: not an upgrade, or an Origin not allowed: the host answered. */
    return st == GYRE_ERR_INVALID || st == GYRE_ERR_UNAVAILABLE ? GYRE_OK : st;
  }
  if (found && len > 0) {
    gyre_str text = {decoded, len};
    (void)p->api->stream_deliver(s, text);
  }
  free(decoded);
  return GYRE_OK;
}

/* Test plugin: a transport with one route per kind of stream the ABI offers
 * (tests/node/transport_hooks.test.js drives them with the real SDK and raw
 * HTTP):
 *   /t/ws         WebSocket stream (the SDK's websocket transport works on it)
 *   /t/stream     POST, bidirectional emulation over a streaming response,
 *                 one JSON message per line (the SDK's http_stream transport)
 *   /t/emulation  POST {"session","node","data"}: commands for /t/stream
 *                 sessions, through api->session_deliver (204, 404, 400)
 *   /t/uni        GET or POST, unidirectional, SSE-style "data: ...\n\n"
 *                 events, the connect request in the POST body
 *   /t/plain      a plain response (http_respond)
 * encode frames messages per framing: 0 as is, 1 + "\n", 2 as SSE events. */
#include <gyre/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FRAMING_WS = 0, FRAMING_LINES = 1, FRAMING_SSE = 2 };

typedef struct lines_state {
  const gyre_host_api *api;
  gyre_host *host;
} lines_state;

static lines_state g_state;

static gyre_str str(const char *s) {
  gyre_str out = {s, strlen(s)};
  return out;
}

static int path_is(const gyre_http_request *req, const char *path) {
  return req->path.len == strlen(path) && memcmp(req->path.ptr, path, req->path.len) == 0;
}

static int method_is(const gyre_http_request *req, const char *m) {
  return req->method.len == strlen(m) && memcmp(req->method.ptr, m, req->method.len) == 0;
}

static void respond(gyre_stream *stream, int status, const char *body) {
  g_state.api->http_respond(stream, status, NULL, 0, str(body));
}

/* The JSON string value of "key" in a flat object, unescaped into out
 * (ASCII \u escapes only; enough for the SDK's emulation requests).
 * Returns the length, or -1 when absent or malformed. */
static long json_string(gyre_str json, const char *key, char *out, size_t cap) {
  char pattern[32];
  const char *p, *end = json.ptr + json.len;
  size_t n = 0;
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  p = json.ptr;
  for (;;) {
    size_t plen = strlen(pattern);
    const char *hit = NULL;
    const char *q;
    for (q = p; q + plen <= end; q++)
      if (memcmp(q, pattern, plen) == 0) {
        hit = q;
        break;
      }
    if (!hit) return -1;
    p = hit + plen;
    while (p < end && (*p == ' ' || *p == ':')) p++;
    if (p < end && *p == '"') break;
  }
  p++;
  while (p < end && *p != '"') {
    char c = *p++;
    if (c == '\\') {
      if (p >= end) return -1;
      c = *p++;
      switch (c) {
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {
          char hex[5] = {0};
          if (end - p < 4) return -1;
          memcpy(hex, p, 4);
          p += 4;
          c = (char)strtol(hex, NULL, 16);
          break;
        }
        default: break; /* \" \\ \/ */
      }
    }
    if (n + 1 >= cap) return -1;
    out[n++] = c;
  }
  if (p >= end) return -1;
  out[n] = '\0';
  return (long)n;
}

static gyre_status open_stream(gyre_stream *stream, const char *transport, uint32_t flags,
                               uint32_t framing, const gyre_header *headers, size_t n) {
  gyre_stream_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.transport = str(transport);
  o.flags = flags;
  o.framing = framing;
  o.headers = headers;
  o.num_headers = n;
  return g_state.api->stream_open(stream, &o);
}

static gyre_status lines_request(void *state, gyre_stream *stream, const gyre_http_request *req,
                                 void **stream_state) {
  (void)state;
  (void)stream_state;
  if (path_is(req, "/t/plain")) {
    gyre_header h = {{"X-Plain", 7}, {"yes", 3}};
    g_state.api->http_respond(stream, 200, &h, 1, str("plain"));
    return GYRE_OK;
  }
  if (path_is(req, "/t/ws")) {
    gyre_header h = {{"X-Lines", 7}, {"1", 1}};
    /* An invalid upgrade is answered by the host (400/426). */
    open_stream(stream, "lines-ws", GYRE_STREAM_WEBSOCKET, FRAMING_WS, &h, 1);
    return GYRE_OK;
  }
  if (path_is(req, "/t/stream")) {
    gyre_header h = {{"Cache-Control", 13}, {"no-cache", 8}};
    if (!method_is(req, "POST")) {
      respond(stream, 405, "method not allowed");
      return GYRE_OK;
    }
    if (open_stream(stream, "lines-stream", GYRE_STREAM_EMULATION | GYRE_STREAM_DISCONNECT_PUSH,
                    FRAMING_LINES, &h, 1) != GYRE_OK)
      return GYRE_ERR_INTERNAL;
    g_state.api->stream_deliver(stream, req->body);
    return GYRE_OK;
  }
  if (path_is(req, "/t/emulation")) {
    /* Stream hooks run on several workers at once: no static buffers. */
    char session[128], node[128];
    char *data;
    gyre_status st;
    if (!method_is(req, "POST")) {
      respond(stream, 405, "method not allowed");
      return GYRE_OK;
    }
    data = malloc(req->body.len + 1);
    if (!data) return GYRE_ERR_NOMEM;
    if (json_string(req->body, "session", session, sizeof session) < 0 ||
        json_string(req->body, "node", node, sizeof node) < 0 ||
        json_string(req->body, "data", data, req->body.len + 1) < 0) {
      free(data);
      respond(stream, 400, "bad request");
      return GYRE_OK;
    }
    st = g_state.api->session_deliver(g_state.host, str(node), str(session), str(data));
    free(data);
    respond(stream, st == GYRE_ERR_NOT_FOUND ? 404 : st == GYRE_OK ? 204 : 500, "");
    return GYRE_OK;
  }
  if (path_is(req, "/t/uni")) {
    gyre_header h = {{"Content-Type", 12}, {"text/event-stream", 17}};
    if (open_stream(stream, "lines-uni", GYRE_STREAM_UNIDIRECTIONAL | GYRE_STREAM_DISCONNECT_PUSH,
                    FRAMING_SSE, &h, 1) != GYRE_OK)
      return GYRE_ERR_INTERNAL;
    g_state.api->stream_write(stream, str("\r\n")); /* flushes proxies; no event */
    g_state.api->stream_deliver(stream, req->body);
    return GYRE_OK;
  }
  respond(stream, 404, "no such route");
  return GYRE_OK;
}

static gyre_status lines_encode(void *state, uint32_t framing, gyre_str message, gyre_buffer *out) {
  (void)state;
  switch (framing) {
    case FRAMING_WS: return g_state.api->buffer_append(out, message);
    case FRAMING_LINES:
      g_state.api->buffer_append(out, message);
      return g_state.api->buffer_append(out, str("\n"));
    case FRAMING_SSE:
      g_state.api->buffer_append(out, str("data: "));
      g_state.api->buffer_append(out, message);
      return g_state.api->buffer_append(out, str("\n\n"));
    default: return GYRE_ERR_INVALID;
  }
}

static void lines_message(void *state, gyre_stream *stream, void *stream_state, gyre_str data,
                          bool binary) {
  (void)state;
  (void)stream_state;
  if (binary) {
    g_state.api->stream_close(stream, 3501, str("bad request"));
    return;
  }
  g_state.api->stream_deliver(stream, data);
}

static void lines_close(void *state, gyre_stream *stream, void *stream_state, uint32_t code,
                        gyre_str reason) {
  char line[160];
  (void)state;
  (void)stream;
  (void)stream_state;
  snprintf(line, sizeof line, "stream closed: %u %.*s", code, (int)reason.len, reason.ptr);
  g_state.api->log(g_state.host, GYRE_LOG_INFO, str(line));
}

static const gyre_transport_ops kTransport = {
    .size = sizeof(gyre_transport_ops),
    .on_request = lines_request,
    .encode = lines_encode,
    .on_message = lines_message,
    .on_close = lines_close,
};

static gyre_status lines_init(const gyre_host_api *api, gyre_host *host, void **state) {
  static const char *routes[] = {"/t/ws", "/t/stream", "/t/emulation", "/t/uni", "/t/plain"};
  size_t i;
  g_state.api = api;
  g_state.host = host;
  for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (api->route_add(host, str(routes[i])) != GYRE_OK) return GYRE_ERR_INVALID;
  *state = &g_state;
  return GYRE_OK;
}

static void lines_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "transport-lines",
    .version = "0.0.1",
    .description = "test plugin: every kind of stream, one route each",
    .kinds = GYRE_PLUGIN_TRANSPORT,
    .init = lines_init,
    .destroy = lines_destroy,
    .transport = &kTransport,
};

GYRE_PLUGIN_DEFINE(kDescriptor)

/* transport-sse-lite: a small transport plugin, in plain C99, serving
 * unidirectional Server-Sent Events at GET /sse-lite:
 *
 *   curl -N 'http://host:port/sse-lite?cf_connect=%7B%7D'
 *
 * The connect request is the URL-encoded JSON in the `cf_connect` query
 * parameter (missing or empty: `{}`). Every session message becomes one SSE
 * event "data: <json>\n\n"; the session ends with a disconnect push. The
 * server runs the session (auth, pings, publications, limits): the plugin
 * only opens the stream and says how a message looks on the wire. Written
 * from gyre/plugin.h and the SDK README alone, by a newcomer to Gyre; copy
 * it to start a transport of your own.
 *
 * Build against the installed SDK:
 *   cmake -S . -B build -DCMAKE_PREFIX_PATH=<gyre prefix> && cmake --build build
 * Run: "plugins": {"load": [{"name": "transport-sse-lite",
 *        "path": "<dir>/transport-sse-lite.so"}]} */
#include <gyre/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_FRAMING 1

typedef struct sse_state {
  const gyre_host_api *api;
  gyre_host *host;
} sse_state;

static sse_state g_state; /* read-only after init: safe on every worker */

static gyre_str cstr(const char *s) {
  gyre_str out;
  out.ptr = s;
  out.len = strlen(s);
  return out;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Finds `name` in a raw query string; *out views its undecoded value. */
static int query_param(gyre_str query, const char *name, gyre_str *out) {
  size_t nlen = strlen(name), i = 0;
  while (i < query.len) {
    size_t end = i;
    while (end < query.len && query.ptr[end] != '&') end++;
    if (end - i >= nlen && memcmp(query.ptr + i, name, nlen) == 0 &&
        (end - i == nlen || query.ptr[i + nlen] == '=')) {
      size_t v = i + nlen + (end - i > nlen ? 1 : 0);
      out->ptr = query.ptr + v;
      out->len = end - v;
      return 1;
    }
    i = end + 1;
  }
  return 0;
}

/* Percent-decodes (and '+' to space) into a malloc'd buffer; NULL on a bad
 * escape or no memory. */
static char *url_decode(gyre_str in, size_t *out_len) {
  char *buf = malloc(in.len + 1);
  size_t i, n = 0;
  if (!buf) return NULL;
  for (i = 0; i < in.len; i++) {
    char c = in.ptr[i];
    if (c == '%') {
      int hi, lo;
      if (i + 2 >= in.len) {
        free(buf);
        return NULL;
      }
      hi = hexval(in.ptr[i + 1]);
      lo = hexval(in.ptr[i + 2]);
      if (hi < 0 || lo < 0) {
        free(buf);
        return NULL;
      }
      buf[n++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      buf[n++] = c == '+' ? ' ' : c;
    }
  }
  buf[n] = '\0';
  *out_len = n;
  return buf;
}

static gyre_status respond_text(sse_state *s, gyre_stream *stream, int status,
                                const gyre_header *extra, size_t num_extra, const char *body) {
  gyre_header headers[2];
  size_t n = 0;
  headers[n].name = cstr("Content-Type");
  headers[n++].value = cstr("text/plain; charset=utf-8");
  if (num_extra) headers[n++] = extra[0];
  return s->api->http_respond(stream, status, headers, n, cstr(body));
}

static gyre_status sse_request(void *state, gyre_stream *stream, const gyre_http_request *req,
                               void **stream_state) {
  sse_state *s = state;
  gyre_str raw = {NULL, 0};
  gyre_stream_options opts;
  gyre_header headers[3];
  char *connect = NULL;
  size_t connect_len = 0;
  gyre_status st;
  (void)stream_state; /* nothing per stream */

  if (req->method.len != 3 || memcmp(req->method.ptr, "GET", 3) != 0) {
    gyre_header allow;
    allow.name = cstr("Allow");
    allow.value = cstr("GET");
    return respond_text(s, stream, 405, &allow, 1, "method not allowed\n");
  }
  if (query_param(req->query, "cf_connect", &raw) && raw.len > 0) {
    connect = url_decode(raw, &connect_len);
    if (!connect) return respond_text(s, stream, 400, NULL, 0, "bad cf_connect encoding\n");
  }

  headers[0].name = cstr("Content-Type");
  headers[0].value = cstr("text/event-stream");
  headers[1].name = cstr("Cache-Control");
  headers[1].value = cstr("no-cache");
  headers[2].name = cstr("X-Accel-Buffering");
  headers[2].value = cstr("no");
  memset(&opts, 0, sizeof opts);
  opts.size = sizeof opts;
  opts.transport = cstr("sse-lite");
  opts.flags = GYRE_STREAM_UNIDIRECTIONAL | GYRE_STREAM_DISCONNECT_PUSH;
  opts.framing = SSE_FRAMING;
  opts.status = 200;
  opts.headers = headers;
  opts.num_headers = 3;
  st = s->api->stream_open(stream, &opts);
  if (st != GYRE_OK) {
    free(connect);
    /* UNAVAILABLE: the peer is gone, nothing to answer. */
    return st == GYRE_ERR_UNAVAILABLE ? GYRE_OK : st;
  }
  if (connect) {
    gyre_str data;
    data.ptr = connect;
    data.len = connect_len;
    (void)s->api->stream_deliver(stream, data);
    free(connect);
  } else {
    (void)s->api->stream_deliver(stream, cstr("{}"));
  }
  return GYRE_OK; /* a failed deliver means the session closed already */
}

/* One message, one event. Messages carry no newlines (header: encode). */
static gyre_status sse_encode(void *state, uint32_t framing, gyre_str message, gyre_buffer *out) {
  sse_state *s = state;
  gyre_status st;
  if (framing != SSE_FRAMING) return GYRE_ERR_INVALID;
  st = s->api->buffer_append(out, cstr("data: "));
  if (st == GYRE_OK) st = s->api->buffer_append(out, message);
  if (st == GYRE_OK) st = s->api->buffer_append(out, cstr("\n\n"));
  return st;
}

static void sse_close(void *state, gyre_stream *stream, void *stream_state, uint32_t code,
                      gyre_str reason) {
  sse_state *s = state;
  char line[160];
  (void)stream;
  (void)stream_state; /* nothing to free */
  snprintf(line, sizeof line, "stream closed: %u %.*s", (unsigned)code,
           (int)(reason.len > 100 ? 100 : reason.len), reason.ptr ? reason.ptr : "");
  s->api->log(s->host, GYRE_LOG_DEBUG, cstr(line));
}

static const gyre_transport_ops kTransport = {
    .size = sizeof(gyre_transport_ops),
    .on_request = sse_request,
    .encode = sse_encode,
    .on_message = NULL, /* unidirectional: the peer sends nothing */
    .on_close = sse_close,
};

static gyre_status sse_init(const gyre_host_api *api, gyre_host *host, void **state) {
  g_state.api = api;
  g_state.host = host;
  if (api->abi_minor < 1) return GYRE_ERR_UNAVAILABLE; /* no transports in 1.0 */
  if (api->route_add(host, cstr("/sse-lite")) != GYRE_OK) {
    api->log(host, GYRE_LOG_ERROR, cstr("cannot claim /sse-lite"));
    return GYRE_ERR_INVALID;
  }
  *state = &g_state;
  return GYRE_OK;
}

static void sse_destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "transport-sse-lite",
    .version = "0.1.0",
    .description = "unidirectional Server-Sent Events at GET /sse-lite",
    .kinds = GYRE_PLUGIN_TRANSPORT,
    .init = sse_init,
    .destroy = sse_destroy,
    .transport = &kTransport,
};

GYRE_PLUGIN_DEFINE(kDescriptor)

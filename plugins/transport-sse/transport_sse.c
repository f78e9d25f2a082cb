/* transport-sse: the HTTP transports of Centrifugo for Gyre.
 *   sse, http_stream       the centrifuge SDK's emulation transports: a
 *                          stream of replies and pushes, with commands
 *                          POSTed to the emulation endpoint;
 *   uni_sse, uni_http_stream, uni_websocket
 *                          unidirectional: the server connects, then only
 *                          pushes (curl or EventSource is a client).
 * The server runs every session (auth, subscriptions, pings, limits, the
 * disconnect push that ends a stream): this plugin decides how a request
 * opens one and how each message looks on the wire. Loaded by the server
 * when one of sse.enabled, http_stream.enabled, uni_sse.enabled,
 * uni_http_stream.enabled, uni_websocket.enabled is true. */
#include <stdio.h>
#include <string.h>

#include "emulation.h"
#include "settings.h"
#include "sse_plugin.h"
#include "streams.h"

static sse_plugin g_plugin; /* read-only after init: safe on every worker */

gyre_str sse_cstr(const char *s) {
  gyre_str out;
  out.ptr = s;
  out.len = strlen(s);
  return out;
}

bool sse_str_eq(gyre_str a, const char *b) {
  size_t n = strlen(b);
  return a.len == n && (n == 0 || memcmp(a.ptr, b, n) == 0);
}

static gyre_status on_request(void *state, gyre_stream *stream, const gyre_http_request *req,
                              void **stream_state) {
  const sse_plugin *p = state;
  int k;
  (void)stream_state; /* nothing per stream: the host keeps the session */
  for (k = 0; k < ROUTE_COUNT; k++) {
    const sse_route *r = &p->routes[k];
    if (!r->enabled || r->prefix.len != req->path.len ||
        memcmp(r->prefix.ptr, req->path.ptr, r->prefix.len) != 0)
      continue;
    if (k == ROUTE_EMULATION) return sse_serve_emulation(p, stream, req);
    if (k == ROUTE_UNI_WEBSOCKET) return sse_open_uni_websocket(p, stream, req);
    return sse_open_http_stream(p, (sse_route_kind)k, stream, req);
  }
  return GYRE_ERR_NOT_FOUND; /* not a path we claimed: the host answers 500 */
}

/* One message per event / line / frame. Messages carry no newlines (the
 * header's promise for encode), so neither framing needs escaping. */
static gyre_status encode(void *state, uint32_t framing, gyre_str message, gyre_buffer *out) {
  const sse_plugin *p = state;
  gyre_status st = GYRE_OK;
  if (framing == SSE_FRAMING_EVENTS) st = p->api->buffer_append(out, sse_cstr("data: "));
  if (st == GYRE_OK) st = p->api->buffer_append(out, message);
  if (st != GYRE_OK) return st;
  if (framing == SSE_FRAMING_EVENTS) return p->api->buffer_append(out, sse_cstr("\n\n"));
  if (framing == SSE_FRAMING_LINES) return p->api->buffer_append(out, sse_cstr("\n"));
  return GYRE_OK;
}

static void on_close(void *state, gyre_stream *stream, void *stream_state, uint32_t code,
                     gyre_str reason) {
  (void)state;
  (void)stream;
  (void)stream_state; /* never set */
  (void)code;
  (void)reason;
}

static const gyre_transport_ops kTransport = {
    .size = sizeof(gyre_transport_ops),
    .on_request = on_request,
    .encode = encode,
    .on_message = NULL, /* uni_websocket: the first text message is the connect request */
    .on_close = on_close,
};

static gyre_status init(const gyre_host_api *api, gyre_host *host, void **state) {
  sse_plugin *p = &g_plugin;
  int k;
  memset(p, 0, sizeof *p);
  p->api = api;
  p->host = host;
  if (api->abi_minor < 3 || api->size < offsetof(gyre_host_api, origin_allowed) + sizeof(void *)) {
    api->log(host, GYRE_LOG_ERROR, sse_cstr("needs a host with plugin ABI 1.3 or later"));
    return GYRE_ERR_UNAVAILABLE;
  }
  if (sse_read_settings(p) != GYRE_OK) return GYRE_ERR_INVALID;
  for (k = 0; k < ROUTE_COUNT; k++) {
    char line[200];
    const sse_route *r = &p->routes[k];
    if (!r->enabled) continue;
    if (api->route_add(host, r->prefix) != GYRE_OK) {
      snprintf(line, sizeof line, "cannot serve %s at %.*s (path taken)",
               sse_route_section((sse_route_kind)k),
               (int)(r->prefix.len > 120 ? 120 : r->prefix.len), r->prefix.ptr);
      api->log(host, GYRE_LOG_ERROR, sse_cstr(line));
      return GYRE_ERR_INVALID;
    }
    snprintf(line, sizeof line, "%s at %.*s", sse_route_section((sse_route_kind)k),
             (int)(r->prefix.len > 120 ? 120 : r->prefix.len), r->prefix.ptr);
    api->log(host, GYRE_LOG_INFO, sse_cstr(line));
  }
  *state = p;
  return GYRE_OK;
}

static void destroy(void *state) { (void)state; }

static const gyre_plugin_descriptor kDescriptor = {
    .size = sizeof(gyre_plugin_descriptor),
    .abi_major = GYRE_ABI_MAJOR,
    .abi_minor = GYRE_ABI_MINOR,
    .name = "transport-sse",
    .version = "0.1.0",
    .description = "SSE and HTTP-streaming (emulation and unidirectional) and uni_websocket",
    .kinds = GYRE_PLUGIN_TRANSPORT,
    .config_schema = sse_config_schema,
    .init = init,
    .destroy = destroy,
    .engine = NULL,
    .config_section = "",
    .auth = NULL,
    .transport = &kTransport,
    .commands = NULL,
};

GYRE_PLUGIN_DEFINE(kDescriptor)

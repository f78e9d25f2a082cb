#include "settings.h"

#include <stdio.h>
#include <string.h>

static const char *const kSections[ROUTE_COUNT] = {
    "sse", "http_stream", "uni_sse", "uni_http_stream", "uni_websocket", "emulation",
};

static const char *const kPrefixes[ROUTE_COUNT] = {
    "/connection/sse",           "/connection/http_stream",
    "/connection/uni_sse",       "/connection/uni_http_stream",
    "/connection/uni_websocket", "/emulation",
};

const char *sse_route_section(sse_route_kind kind) { return kSections[kind]; }

#define ENABLED(sec, what) \
  { sec ".enabled", GYRE_CONFIG_BOOL, "false", "serve " what }
#define PREFIX(sec, path) \
  { sec ".handler_prefix", GYRE_CONFIG_STRING, path, "endpoint path" }
#define BODY(sec) \
  { sec ".max_request_body_size", GYRE_CONFIG_INT, "65536", "request body limit in bytes (413)" }

const gyre_config_field sse_config_schema[] = {
    ENABLED("sse", "the SSE emulation transport (the SDK's 'sse')"),
    PREFIX("sse", "/connection/sse"),
    BODY("sse"),
    ENABLED("http_stream", "the HTTP-streaming emulation transport (the SDK's 'http_stream')"),
    PREFIX("http_stream", "/connection/http_stream"),
    BODY("http_stream"),
    ENABLED("uni_sse", "unidirectional SSE (EventSource, curl)"),
    PREFIX("uni_sse", "/connection/uni_sse"),
    BODY("uni_sse"),
    ENABLED("uni_http_stream", "unidirectional HTTP streaming (newline-delimited JSON)"),
    PREFIX("uni_http_stream", "/connection/uni_http_stream"),
    BODY("uni_http_stream"),
    ENABLED("uni_websocket", "unidirectional WebSocket"),
    PREFIX("uni_websocket", "/connection/uni_websocket"),
    PREFIX("emulation", "/emulation"),
    BODY("emulation"),
    {NULL, 0, NULL, NULL},
};

static bool read_route(sse_plugin *p, sse_route_kind kind) {
  const gyre_host_api *api = p->api;
  sse_route *r = &p->routes[kind];
  char key[64];
  char line[160];
  snprintf(key, sizeof key, "%s.enabled", kSections[kind]);
  if (kind != ROUTE_EMULATION && !api->config_get_bool(p->host, key, &r->enabled))
    r->enabled = false;
  snprintf(key, sizeof key, "%s.handler_prefix", kSections[kind]);
  if (!api->config_get_string(p->host, key, &r->prefix)) r->prefix = sse_cstr(kPrefixes[kind]);
  if (r->prefix.len == 0 || r->prefix.ptr[0] != '/') {
    snprintf(line, sizeof line, "%s.handler_prefix must start with '/'", kSections[kind]);
    api->log(p->host, GYRE_LOG_ERROR, sse_cstr(line));
    return false;
  }
  r->max_body = 65536;
  snprintf(key, sizeof key, "%s.max_request_body_size", kSections[kind]);
  if (kind != ROUTE_UNI_WEBSOCKET) {
    (void)api->config_get_int(p->host, key, &r->max_body);
    if (r->max_body < 1) {
      snprintf(line, sizeof line, "%s must be at least 1", key);
      api->log(p->host, GYRE_LOG_ERROR, sse_cstr(line));
      return false;
    }
  }
  return true;
}

gyre_status sse_read_settings(sse_plugin *p) {
  int k;
  for (k = 0; k < ROUTE_COUNT; k++)
    if (!read_route(p, (sse_route_kind)k)) return GYRE_ERR_INVALID;
  /* The SDK posts its commands to /emulation only on emulation transports. */
  p->routes[ROUTE_EMULATION].enabled =
      p->routes[ROUTE_SSE].enabled || p->routes[ROUTE_HTTP_STREAM].enabled;
  return GYRE_OK;
}

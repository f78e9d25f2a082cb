#include "reply.h"

#include <stdio.h>
#include <string.h>

#define MAX_HEADERS 8

static size_t with_cors(gyre_header *out, const sse_cors *cors) {
  size_t n = 0, i;
  for (i = 0; cors && i < cors->count; i++) out[n++] = cors->headers[i];
  return n;
}

static gyre_status respond(const sse_plugin *p, gyre_stream *s, int status, gyre_header *headers,
                           size_t n, const char *error) {
  char body[256];
  gyre_str text = {NULL, 0};
  if (error) {
    int len = snprintf(body, sizeof body, "{\"error\":\"%s\"}", error);
    text.ptr = body;
    text.len = len > 0 && (size_t)len < sizeof body ? (size_t)len : 0;
    headers[n].name = sse_cstr("Content-Type");
    headers[n++].value = sse_cstr("application/json");
  }
  return p->api->http_respond(s, status, headers, n, text);
}

gyre_status sse_reply(const sse_plugin *p, gyre_stream *s, int status, const sse_cors *cors,
                      const char *error) {
  gyre_header headers[MAX_HEADERS];
  return respond(p, s, status, headers, with_cors(headers, cors), error);
}

gyre_status sse_preflight(const sse_plugin *p, gyre_stream *s, const sse_cors *cors,
                          const char *methods) {
  gyre_header headers[MAX_HEADERS];
  size_t n = with_cors(headers, cors);
  headers[n].name = sse_cstr("Access-Control-Allow-Methods");
  headers[n++].value = sse_cstr(methods);
  headers[n].name = sse_cstr("Access-Control-Max-Age");
  headers[n++].value = sse_cstr("300");
  return respond(p, s, 204, headers, n, NULL);
}

gyre_status sse_method_not_allowed(const sse_plugin *p, gyre_stream *s, const sse_cors *cors,
                                   const char *methods) {
  gyre_header headers[MAX_HEADERS];
  size_t n = with_cors(headers, cors);
  headers[n].name = sse_cstr("Allow");
  headers[n++].value = sse_cstr(methods);
  return respond(p, s, 405, headers, n, "method not allowed");
}

#include "cors.h"

#include "request.h"

static void add(sse_cors *c, const char *name, gyre_str value) {
  c->headers[c->count].name = sse_cstr(name);
  c->headers[c->count].value = value;
  c->count++;
}

bool sse_cors_check(const sse_plugin *p, const gyre_http_request *req, sse_cors *out) {
  gyre_str origin = sse_header(req, "origin");
  gyre_str wanted;
  out->count = 0;
  if (origin.len == 0) return true;
  if (!p->api->origin_allowed(p->host, origin, sse_header(req, "host"))) return false;
  add(out, "Access-Control-Allow-Origin", origin);
  add(out, "Access-Control-Allow-Credentials", sse_cstr("true"));
  /* A preflight names the headers the page will send (Content-Type for
   * the SDK's JSON posts): allow exactly those. */
  wanted = sse_header(req, "access-control-request-headers");
  if (wanted.len > 0 && !sse_str_eq(wanted, "null"))
    add(out, "Access-Control-Allow-Headers", wanted);
  add(out, "Vary", sse_cstr("Origin"));
  return true;
}

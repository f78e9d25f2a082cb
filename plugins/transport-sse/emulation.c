#include "emulation.h"

#include <cJSON.h>
#include <string.h>

#include "cors.h"
#include "reply.h"
#include "request.h"

static bool string_member(const cJSON *obj, const char *name, gyre_str *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!cJSON_IsString(v) || !v->valuestring) return false;
  out->ptr = v->valuestring;
  out->len = strlen(v->valuestring);
  return true;
}

gyre_status sse_serve_emulation(const sse_plugin *p, gyre_stream *s, const gyre_http_request *req) {
  sse_cors cors;
  cJSON *doc;
  gyre_str session, node, data;
  gyre_status st;

  if (!sse_cors_check(p, req, &cors)) return sse_reply(p, s, 403, NULL, "origin not allowed");
  if (sse_str_eq(req->method, "OPTIONS")) return sse_preflight(p, s, &cors, "POST, OPTIONS");
  if (!sse_str_eq(req->method, "POST")) return sse_method_not_allowed(p, s, &cors, "POST, OPTIONS");
  if ((int64_t)req->body.len > p->routes[ROUTE_EMULATION].max_body)
    return sse_reply(p, s, 413, &cors, "request body too large");
  doc = sse_parse_json(req->body.ptr, req->body.len);
  if (!doc) return sse_reply(p, s, 400, &cors, "body is not valid JSON");
  /* data is a JSON string holding newline-separated commands (cJSON keeps
   * C strings: an escaped NUL ends it, and no command holds one). */
  if (!cJSON_IsObject(doc) || !string_member(doc, "session", &session) ||
      !string_member(doc, "node", &node) || !string_member(doc, "data", &data)) {
    cJSON_Delete(doc);
    return sse_reply(p, s, 400, &cors, "body must be {session, node, data} with string values");
  }
  st = p->api->session_deliver(p->host, node, session, data);
  cJSON_Delete(doc);
  if (st == GYRE_ERR_NOT_FOUND) return sse_reply(p, s, 404, &cors, "unknown node");
  if (st != GYRE_OK) return sse_reply(p, s, 503, &cors, "cannot deliver now");
  return sse_reply(p, s, 204, &cors, NULL);
}

#include "request.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

gyre_str sse_header(const gyre_http_request *req, const char *lower_name) {
  gyre_str none = {NULL, 0};
  size_t n = strlen(lower_name), i;
  for (i = 0; i < req->num_headers; i++) {
    const gyre_header *h = &req->headers[i];
    if (h->name.len == n && memcmp(h->name.ptr, lower_name, n) == 0) return h->value;
  }
  return none;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)(c | 0x20);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int sse_query_param(gyre_str query, const char *name, char **out, size_t *len) {
  size_t name_len = strlen(name);
  const char *p = query.ptr, *end = query.ptr + query.len;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *key_end = eq ? eq : stop;
    if ((size_t)(key_end - p) == name_len && memcmp(p, name, name_len) == 0) {
      const char *v = eq ? eq + 1 : stop;
      char *buf = malloc((size_t)(stop - v) + 1);
      size_t n = 0;
      if (!buf) return -2;
      while (v < stop) {
        if (*v == '%') {
          int hi = stop - v >= 3 ? hex_digit(v[1]) : -1;
          int lo = stop - v >= 3 ? hex_digit(v[2]) : -1;
          if (hi < 0 || lo < 0) {
            free(buf);
            return -1;
          }
          buf[n++] = (char)(hi * 16 + lo);
          v += 3;
        } else {
          buf[n++] = *v == '+' ? ' ' : *v;
          v++;
        }
      }
      buf[n] = '\0';
      *out = buf;
      *len = n;
      return 1;
    }
    p = amp ? amp + 1 : end;
  }
  return 0;
}

cJSON *sse_parse_json(const char *text, size_t len) {
  const char *end = NULL;
  cJSON *doc;
  if (!text || len == 0) return NULL;
  doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!doc) return NULL;
  /* cJSON stops after the value: anything but whitespace after it is an error. */
  while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
  if (end != text + len) {
    cJSON_Delete(doc);
    return NULL;
  }
  return doc;
}

const char *sse_connect_problem(gyre_str text, sse_connect_form form) {
  const char *problem = NULL;
  size_t len = text.len;
  cJSON *doc;
  /* A command stream may carry more commands after the first line: the
   * session reads those; the endpoint vouches only for the connect. */
  if (form == SSE_CONNECT_COMMAND && text.ptr) {
    const char *nl = memchr(text.ptr, '\n', text.len);
    if (nl) len = (size_t)(nl - text.ptr);
  }
  if (len == 0) return "empty connect request";
  doc = sse_parse_json(text.ptr, len);
  if (!doc) return "connect request is not valid JSON";
  if (!cJSON_IsObject(doc)) {
    problem = "connect request must be a JSON object";
  } else if (form == SSE_CONNECT_COMMAND) {
    const cJSON *connect = cJSON_GetObjectItemCaseSensitive(doc, "connect");
    if (!cJSON_IsObject(connect)) problem = "the first command must be connect";
  }
  cJSON_Delete(doc);
  return problem;
}

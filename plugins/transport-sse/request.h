/* Reading what a request carries: headers, the cf_connect query parameter,
 * and whether a body or parameter is the connect the endpoint expects. */
#ifndef GYRE_TRANSPORT_SSE_REQUEST_H
#define GYRE_TRANSPORT_SSE_REQUEST_H

#include <gyre/plugin.h>

/* The value of header `lower_name` (names arrive lower-case), or an empty
 * view. Borrowed from req. */
gyre_str sse_header(const gyre_http_request *req, const char *lower_name);

/* Finds parameter `name` in the raw query and percent-decodes its value
 * ('+' is a space, as in forms) into a malloc'd, NUL-terminated buffer of
 * *len bytes: the caller frees it. Returns 1 found and decoded, 0 absent,
 * -1 a bad escape, -2 no memory. */
int sse_query_param(gyre_str query, const char *name, char **out, size_t *len);

/* Parses exactly one JSON document of len bytes (whitespace around it
 * allowed, nothing else): the cJSON tree, which the caller frees with
 * cJSON_Delete, or NULL. */
struct cJSON *sse_parse_json(const char *text, size_t len);

/* What the first command of an emulation stream must be. */
typedef enum sse_connect_form {
  SSE_CONNECT_COMMAND, /* a Command with `connect` ({"id":1,"connect":{...}}) */
  SSE_CONNECT_REQUEST  /* a bare ConnectRequest object (unidirectional) */
} sse_connect_form;

/* NULL when `text` (its first line, for a command) is JSON of that form,
 * else why not, for the 400 answer. */
const char *sse_connect_problem(gyre_str text, sse_connect_form form);

#endif

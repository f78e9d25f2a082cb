/* CORS as Centrifugo answers it: a request whose Origin the server allows
 * (client.allowed_origins, through api->origin_allowed) gets that Origin
 * echoed with credentials allowed; one whose Origin it does not allow is
 * refused (403) before any session starts, so that a foreign page cannot
 * open streams or post commands with the visitor's cookies. Requests
 * without Origin (curl, backends, same-origin GETs) pass. */
#ifndef GYRE_TRANSPORT_SSE_CORS_H
#define GYRE_TRANSPORT_SSE_CORS_H

#include "sse_plugin.h"

typedef struct sse_cors {
  gyre_header headers[4]; /* views into the request: valid during on_request */
  size_t count;
} sse_cors;

/* False: the Origin is not allowed (answer 403). True: `out` holds the
 * headers every answer to this request carries (none without Origin). */
bool sse_cors_check(const sse_plugin *plugin, const gyre_http_request *req, sse_cors *out);

#endif

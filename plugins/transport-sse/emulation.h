/* The emulation endpoint: the SDK's sse and http_stream transports POST
 * every command after connect as {"session", "node", "data"}, and the
 * replies travel on the session's open stream. Stream thread, inside
 * on_request. */
#ifndef GYRE_TRANSPORT_SSE_EMULATION_H
#define GYRE_TRANSPORT_SSE_EMULATION_H

#include "sse_plugin.h"

/* 204 once handed to the session (an unknown session on a known node too,
 * as Centrifugo does), 404 for an unknown node, 400 for a body that is not
 * that object, 413 above emulation.max_request_body_size, 405 for methods
 * other than POST (OPTIONS: the preflight's 204), 403 for an Origin not
 * allowed. */
gyre_status sse_serve_emulation(const sse_plugin *plugin, gyre_stream *stream,
                                const gyre_http_request *req);

#endif

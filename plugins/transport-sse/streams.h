/* Opening sessions: the four HTTP streams (sse, http_stream, uni_sse,
 * uni_http_stream) and uni_websocket. Each checks the request (method,
 * Origin, body size, the connect it carries), answers a plain error when it
 * is wrong, and otherwise opens the stream and hands the connect to the
 * session. Stream thread, inside on_request. */
#ifndef GYRE_TRANSPORT_SSE_STREAMS_H
#define GYRE_TRANSPORT_SSE_STREAMS_H

#include "sse_plugin.h"

gyre_status sse_open_http_stream(const sse_plugin *plugin, sse_route_kind kind, gyre_stream *stream,
                                 const gyre_http_request *req);
gyre_status sse_open_uni_websocket(const sse_plugin *plugin, gyre_stream *stream,
                                   const gyre_http_request *req);

#endif

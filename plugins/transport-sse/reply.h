/* Plain (non-streaming) answers: errors as a JSON object {"error": "..."},
 * CORS preflights, and the emulation endpoint's 204. */
#ifndef GYRE_TRANSPORT_SSE_REPLY_H
#define GYRE_TRANSPORT_SSE_REPLY_H

#include "cors.h"

/* status with {"error": error} (error: a static text without quotes), or
 * no body when error is NULL; cors may be NULL. */
gyre_status sse_reply(const sse_plugin *plugin, gyre_stream *stream, int status,
                      const sse_cors *cors, const char *error);

/* 204 to an OPTIONS preflight: methods ("POST, OPTIONS"), cached 300 s. */
gyre_status sse_preflight(const sse_plugin *plugin, gyre_stream *stream, const sse_cors *cors,
                          const char *methods);

/* 405 with Allow: methods. */
gyre_status sse_method_not_allowed(const sse_plugin *plugin, gyre_stream *stream,
                                   const sse_cors *cors, const char *methods);

#endif

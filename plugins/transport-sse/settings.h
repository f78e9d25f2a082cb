/* The plugin's settings: Centrifugo v6's sections sse, http_stream,
 * uni_sse, uni_http_stream, uni_websocket and emulation, read from the top
 * level of the server's config (config_section ""), so that a Centrifugo
 * config works unchanged. */
#ifndef GYRE_TRANSPORT_SSE_SETTINGS_H
#define GYRE_TRANSPORT_SSE_SETTINGS_H

#include "sse_plugin.h"

/* The declared schema (static, NULL-terminated). */
extern const gyre_config_field sse_config_schema[];

/* Fills plugin->routes from the host's config; the emulation endpoint is
 * enabled when sse or http_stream is. Loop thread, in init. Logs and
 * returns GYRE_ERR_INVALID on a bad value (a path not starting with '/', a
 * limit below 1). */
gyre_status sse_read_settings(sse_plugin *plugin);

/* The config section of each route ("sse", ..., "emulation"). */
const char *sse_route_section(sse_route_kind kind);

#endif

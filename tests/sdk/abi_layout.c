/* Prints the binary layout of sdk/include/gyre/plugin.h: the size of every
 * record and vtable, the offset of every field, and the value of every
 * constant. tests/sdk/check_abi_layout.sh compares it with the golden file of
 * the header's version (sdk/abi/layout-MAJOR.MINOR.txt), so a layout change
 * without a version bump fails the build's tests. A field added here must be
 * added to the golden file of a new minor. */
#include <gyre/plugin.h>
#include <stddef.h>
#include <stdio.h>

#define SIZE(T) printf("sizeof %s %zu\n", #T, sizeof(T))
#define FIELD(T, f) printf("offset %s.%s %zu\n", #T, #f, offsetof(T, f))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

int main(void) {
  printf("abi %d.%d\n", GYRE_ABI_MAJOR, GYRE_ABI_MINOR);
  SIZE(gyre_str);
  FIELD(gyre_str, ptr);
  FIELD(gyre_str, len);

  SIZE(gyre_client_info);
  FIELD(gyre_client_info, size);
  FIELD(gyre_client_info, user);
  FIELD(gyre_client_info, client);
  FIELD(gyre_client_info, conn_info);
  FIELD(gyre_client_info, chan_info);

  SIZE(gyre_tag);
  FIELD(gyre_tag, key);
  FIELD(gyre_tag, value);

  SIZE(gyre_publication);
  FIELD(gyre_publication, size);
  FIELD(gyre_publication, data);
  FIELD(gyre_publication, offset);
  FIELD(gyre_publication, info);
  FIELD(gyre_publication, tags);
  FIELD(gyre_publication, num_tags);
  FIELD(gyre_publication, time_ms);

  SIZE(gyre_stream_position);
  FIELD(gyre_stream_position, offset);
  FIELD(gyre_stream_position, epoch);

  SIZE(gyre_publish_options);
  FIELD(gyre_publish_options, size);
  FIELD(gyre_publish_options, history_size);
  FIELD(gyre_publish_options, history_ttl_s);
  FIELD(gyre_publish_options, history_meta_ttl_s);
  FIELD(gyre_publish_options, idempotency_key);
  FIELD(gyre_publish_options, idempotent_result_ttl_s);
  FIELD(gyre_publish_options, version);
  FIELD(gyre_publish_options, version_epoch);
  FIELD(gyre_publish_options, use_delta);

  SIZE(gyre_publish_result);
  FIELD(gyre_publish_result, size);
  FIELD(gyre_publish_result, position);
  FIELD(gyre_publish_result, suppressed);

  SIZE(gyre_history_filter);
  FIELD(gyre_history_filter, size);
  FIELD(gyre_history_filter, has_since);
  FIELD(gyre_history_filter, since_offset);
  FIELD(gyre_history_filter, limit);
  FIELD(gyre_history_filter, reverse);
  FIELD(gyre_history_filter, history_meta_ttl_s);

  SIZE(gyre_config_field);
  FIELD(gyre_config_field, key);
  FIELD(gyre_config_field, type);
  FIELD(gyre_config_field, default_value);
  FIELD(gyre_config_field, description);

  SIZE(gyre_header);
  FIELD(gyre_header, name);
  FIELD(gyre_header, value);

  SIZE(gyre_subscription_grant);
  FIELD(gyre_subscription_grant, size);
  FIELD(gyre_subscription_grant, channel);
  FIELD(gyre_subscription_grant, info);
  FIELD(gyre_subscription_grant, data);
  FIELD(gyre_subscription_grant, expire_at);
  FIELD(gyre_subscription_grant, client_side_refresh);
  FIELD(gyre_subscription_grant, override_mask);
  FIELD(gyre_subscription_grant, override_values);

  SIZE(gyre_credentials);
  FIELD(gyre_credentials, size);
  FIELD(gyre_credentials, user);
  FIELD(gyre_credentials, info);
  FIELD(gyre_credentials, expire_at);
  FIELD(gyre_credentials, client_side_refresh);
  FIELD(gyre_credentials, data);
  FIELD(gyre_credentials, subs);
  FIELD(gyre_credentials, num_subs);
  FIELD(gyre_credentials, meta);

  SIZE(gyre_connect_request);
  FIELD(gyre_connect_request, size);
  FIELD(gyre_connect_request, client);
  FIELD(gyre_connect_request, transport);
  FIELD(gyre_connect_request, token);
  FIELD(gyre_connect_request, data);
  FIELD(gyre_connect_request, name);
  FIELD(gyre_connect_request, version);
  FIELD(gyre_connect_request, headers);
  FIELD(gyre_connect_request, num_headers);
  FIELD(gyre_connect_request, emulated_headers);
  FIELD(gyre_connect_request, num_emulated_headers);

  SIZE(gyre_refresh_request);
  FIELD(gyre_refresh_request, size);
  FIELD(gyre_refresh_request, client);
  FIELD(gyre_refresh_request, user);
  FIELD(gyre_refresh_request, transport);
  FIELD(gyre_refresh_request, token);
  FIELD(gyre_refresh_request, info);
  FIELD(gyre_refresh_request, expire_at);

  SIZE(gyre_subscribe_request);
  FIELD(gyre_subscribe_request, size);
  FIELD(gyre_subscribe_request, client);
  FIELD(gyre_subscribe_request, user);
  FIELD(gyre_subscribe_request, transport);
  FIELD(gyre_subscribe_request, channel);
  FIELD(gyre_subscribe_request, token);
  FIELD(gyre_subscribe_request, data);
  FIELD(gyre_subscribe_request, conn_info);

  SIZE(gyre_http_request);
  FIELD(gyre_http_request, size);
  FIELD(gyre_http_request, method);
  FIELD(gyre_http_request, path);
  FIELD(gyre_http_request, query);
  FIELD(gyre_http_request, headers);
  FIELD(gyre_http_request, num_headers);
  FIELD(gyre_http_request, body);
  FIELD(gyre_http_request, http_minor);

  SIZE(gyre_stream_options);
  FIELD(gyre_stream_options, size);
  FIELD(gyre_stream_options, transport);
  FIELD(gyre_stream_options, flags);
  FIELD(gyre_stream_options, framing);
  FIELD(gyre_stream_options, status);
  FIELD(gyre_stream_options, headers);
  FIELD(gyre_stream_options, num_headers);

  SIZE(gyre_host_api);
  FIELD(gyre_host_api, abi_major);
  FIELD(gyre_host_api, abi_minor);
  FIELD(gyre_host_api, size);
  FIELD(gyre_host_api, log);
  FIELD(gyre_host_api, now_ms);
  FIELD(gyre_host_api, timer_start);
  FIELD(gyre_host_api, timer_stop);
  FIELD(gyre_host_api, watch_start);
  FIELD(gyre_host_api, watch_update);
  FIELD(gyre_host_api, watch_stop);
  FIELD(gyre_host_api, post);
  FIELD(gyre_host_api, config_get_string);
  FIELD(gyre_host_api, config_get_int);
  FIELD(gyre_host_api, config_get_bool);
  FIELD(gyre_host_api, config_get_duration_ms);
  FIELD(gyre_host_api, complete);
  FIELD(gyre_host_api, complete_publish);
  FIELD(gyre_host_api, complete_history);
  FIELD(gyre_host_api, complete_presence);
  FIELD(gyre_host_api, complete_presence_stats);
  FIELD(gyre_host_api, handle_publication);
  FIELD(gyre_host_api, handle_join);
  FIELD(gyre_host_api, handle_leave);
  FIELD(gyre_host_api, auth_grant);
  FIELD(gyre_host_api, auth_grant_subscription);
  FIELD(gyre_host_api, auth_deny);
  FIELD(gyre_host_api, route_add);
  FIELD(gyre_host_api, http_respond);
  FIELD(gyre_host_api, stream_open);
  FIELD(gyre_host_api, stream_write);
  FIELD(gyre_host_api, stream_deliver);
  FIELD(gyre_host_api, stream_close);
  FIELD(gyre_host_api, session_deliver);
  FIELD(gyre_host_api, buffer_append);
  FIELD(gyre_host_api, origin_allowed);
  FIELD(gyre_host_api, node_id);
  FIELD(gyre_host_api, handle_control);
  FIELD(gyre_host_api, handle_resync);
  FIELD(gyre_host_api, config_get_list);

  SIZE(gyre_engine_ops);
  FIELD(gyre_engine_ops, size);
  FIELD(gyre_engine_ops, subscribe);
  FIELD(gyre_engine_ops, unsubscribe);
  FIELD(gyre_engine_ops, publish);
  FIELD(gyre_engine_ops, publish_join);
  FIELD(gyre_engine_ops, publish_leave);
  FIELD(gyre_engine_ops, history);
  FIELD(gyre_engine_ops, remove_history);
  FIELD(gyre_engine_ops, presence_add);
  FIELD(gyre_engine_ops, presence_remove);
  FIELD(gyre_engine_ops, presence_get);
  FIELD(gyre_engine_ops, presence_stats);
  FIELD(gyre_engine_ops, publish_control);

  SIZE(gyre_auth_ops);
  FIELD(gyre_auth_ops, size);
  FIELD(gyre_auth_ops, flags);
  FIELD(gyre_auth_ops, on_connect);
  FIELD(gyre_auth_ops, on_refresh);
  FIELD(gyre_auth_ops, on_subscribe);
  FIELD(gyre_auth_ops, on_sub_refresh);

  SIZE(gyre_transport_ops);
  FIELD(gyre_transport_ops, size);
  FIELD(gyre_transport_ops, on_request);
  FIELD(gyre_transport_ops, encode);
  FIELD(gyre_transport_ops, on_message);
  FIELD(gyre_transport_ops, on_close);

  SIZE(gyre_command);
  FIELD(gyre_command, name);
  FIELD(gyre_command, summary);
  FIELD(gyre_command, usage);
  FIELD(gyre_command, run);

  SIZE(gyre_plugin_descriptor);
  FIELD(gyre_plugin_descriptor, size);
  FIELD(gyre_plugin_descriptor, abi_major);
  FIELD(gyre_plugin_descriptor, abi_minor);
  FIELD(gyre_plugin_descriptor, name);
  FIELD(gyre_plugin_descriptor, version);
  FIELD(gyre_plugin_descriptor, description);
  FIELD(gyre_plugin_descriptor, kinds);
  FIELD(gyre_plugin_descriptor, config_schema);
  FIELD(gyre_plugin_descriptor, init);
  FIELD(gyre_plugin_descriptor, destroy);
  FIELD(gyre_plugin_descriptor, engine);
  FIELD(gyre_plugin_descriptor, config_section);
  FIELD(gyre_plugin_descriptor, auth);
  FIELD(gyre_plugin_descriptor, transport);
  FIELD(gyre_plugin_descriptor, commands);

  CONST(GYRE_OK);
  CONST(GYRE_ERR_INVALID);
  CONST(GYRE_ERR_NOMEM);
  CONST(GYRE_ERR_UNAVAILABLE);
  CONST(GYRE_ERR_INTERNAL);
  CONST(GYRE_ERR_UNRECOVERABLE);
  CONST(GYRE_ERR_NOT_FOUND);
  CONST(GYRE_DECLINED);
  CONST(GYRE_PENDING);
  CONST(GYRE_LOG_DEBUG);
  CONST(GYRE_LOG_INFO);
  CONST(GYRE_LOG_WARN);
  CONST(GYRE_LOG_ERROR);
  CONST(GYRE_PLUGIN_ENGINE);
  CONST(GYRE_PLUGIN_AUTH);
  CONST(GYRE_PLUGIN_TRANSPORT);
  CONST(GYRE_OVERRIDE_PRESENCE);
  CONST(GYRE_OVERRIDE_JOIN_LEAVE);
  CONST(GYRE_OVERRIDE_FORCE_PUSH_JOIN_LEAVE);
  CONST(GYRE_OVERRIDE_FORCE_RECOVERY);
  CONST(GYRE_OVERRIDE_FORCE_POSITIONING);
  CONST(GYRE_STREAM_WEBSOCKET);
  CONST(GYRE_STREAM_UNIDIRECTIONAL);
  CONST(GYRE_STREAM_EMULATION);
  CONST(GYRE_STREAM_DISCONNECT_PUSH);
  CONST(GYRE_AUTH_TOKEN_ONLY);
  CONST(GYRE_SUPPRESS_NONE);
  CONST(GYRE_SUPPRESS_IDEMPOTENCY);
  CONST(GYRE_SUPPRESS_VERSION);
  CONST(GYRE_CONFIG_STRING);
  CONST(GYRE_CONFIG_INT);
  CONST(GYRE_CONFIG_BOOL);
  CONST(GYRE_CONFIG_DURATION_MS);
  CONST(GYRE_CONFIG_STRING_LIST);
  CONST(GYRE_WATCH_READ);
  CONST(GYRE_WATCH_WRITE);
  printf("symbol %s\n", GYRE_PLUGIN_ENTRY_SYMBOL);
  return 0;
}

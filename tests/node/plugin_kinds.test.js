// The loader's rules for what ABI 1.1 added (sdk/include/gyre/plugin.h):
// the auth and transport kinds and their required slots, route claims,
// settings from a bound section of the server config, and a plugin built
// against the ABI 1.0 header loading into this host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  PLUGIN_DIR,
  abiVersion,
  errorLine,
  expectStartupFailure,
  listPlugins,
  load,
  plugin,
  removeTempDirs,
} from './lib/plugins.js';
import { API_KEY, freePort, runGyre, startGyre, writeTempConfig } from './lib/server.js';

const TEST_PLUGINS = [
  'auth_missing_ops.so',
  'auth_no_hooks.so',
  'transport_missing_close.so',
  'transport_route_taken.so',
  'transport_lines.so',
  'bound_section.so',
  'good_noop_abi_1_0.so',
  'command_reserved.so',
];

before(() => {
  const missing = TEST_PLUGINS.filter((f) => !fs.existsSync(plugin(f)));
  assert.deepEqual(missing, [], `test plugins missing from ${PLUGIN_DIR} (target gyre-test-plugins)`);
});
after(removeTempDirs);

test('AUTH kind without auth ops: refused, naming plugin and table', async () => {
  const r = await expectStartupFailure(load({ name: 'auth-missing-ops', path: plugin('auth_missing_ops.so') }));
  errorLine(r, /plugin auth-missing-ops\b/, /no auth ops/);
});

test('auth ops without a single hook: refused, naming the hooks', async () => {
  const r = await expectStartupFailure(load({ name: 'auth-no-hooks', path: plugin('auth_no_hooks.so') }));
  errorLine(r, /plugin auth-no-hooks\b/, /no hook/, 'on_connect');
});

test('TRANSPORT without on_close (a required slot): refused, naming the slot', async () => {
  const r = await expectStartupFailure(
    load({ name: 'transport-missing-close', path: plugin('transport_missing_close.so') }),
  );
  const line = errorLine(r, /plugin transport-missing-close\b/, /lack on_close/);
  assert.doesNotMatch(line, /on_request/);
});

test('route_add of a path the server serves is refused; the failed init stops startup', async () => {
  const r = await expectStartupFailure(
    load({ name: 'transport-route-taken', path: plugin('transport_route_taken.so') }),
  );
  errorLine(r, /route_add\("\/connection\/websocket"\) refused/);
  errorLine(r, '[transport-route-taken]', 'route /connection/websocket is taken');
  errorLine(r, /plugin transport-route-taken\b/, /failed to initialize/);
});

test('a path under the API prefix, or claimed by another plugin already, is refused', async () => {
  // "/t/ws" lies under the API prefix "/t/": the server's.
  const api = await expectStartupFailure({
    http_api: { handler_prefix: '/t' },
    ...load({ name: 'transport-lines', path: plugin('transport_lines.so') }),
  });
  errorLine(api, /route_add\("\/t\/ws"\) refused/);
  const clash = await expectStartupFailure(
    load(
      { name: 'transport-lines', path: plugin('transport_lines.so') },
      { name: 'transport-route-taken', path: plugin('transport_route_taken.so'), config: { path: '/t/plain' } },
    ),
  );
  errorLine(clash, '[transport-route-taken]', 'route /t/plain is taken');
  // With the WebSocket endpoint off, its path is free to claim.
  const free = await listPlugins({
    websocket: { disabled: true },
    ...load({ name: 'transport-route-taken', path: plugin('transport_route_taken.so') }),
  });
  assert.equal(free.code, 0, free.out);
  assert.match(free.stdout, /^    route: \/connection\/websocket$/m, free.out);
});

test('a plugin built against the ABI 1.0 header loads into this host and gets its config', async (t) => {
  const gyre = await startGyre(
    load({ name: 'good-noop', path: plugin('good_noop_abi_1_0.so'), config: { greeting: 'old', count: 1 } }),
  );
  t.after(() => gyre.stop());
  await gyre.waitForLog(/\[good-noop\] good-noop init: greeting=old count=1\b/, 2000);
  assert.equal((await gyre.api('info', {})).status, 200);
  const listed = await listPlugins(load({ name: 'good-noop', path: plugin('good_noop_abi_1_0.so') }));
  assert.equal(listed.code, 0, listed.out);
  const { major, minor } = abiVersion();
  assert.match(listed.stdout, /^good-noop 0\.0\.1  kinds: engine  ABI 1\.0  /m, listed.out);
  assert.match(listed.stdout, new RegExp(`host ABI ${major}\\.${minor}: every plugin loads`), listed.out);
});

test('gyre plugins names the new kinds, the routes a transport claimed and a bound section', async () => {
  const r = await listPlugins({
    bound_test: { name: 'n' },
    ...load(
      { name: 'transport-lines', path: plugin('transport_lines.so') },
      { name: 'bound-section', path: plugin('bound_section.so') },
    ),
  });
  assert.equal(r.code, 0, r.out);
  const { major, minor } = abiVersion();
  const abi = `ABI ${major}\\.${minor}`;
  assert.match(r.stdout, new RegExp(`^transport-lines 0\\.0\\.1  kinds: transport  ${abi}  `, 'm'), r.out);
  for (const route of ['/t/ws', '/t/stream', '/t/emulation', '/t/uni', '/t/plain'])
    assert.match(r.stdout, new RegExp(`^    route: ${route}$`, 'm'), r.out);
  assert.match(r.stdout, new RegExp(`^bound-section 0\\.0\\.1  kinds: auth  ${abi}  `, 'm'), r.out);
  assert.match(r.stdout, /^    settings: config section "bound_test"$/m, r.out);
  // Keys the plugin reads are no "unknown key" warnings.
  assert.doesNotMatch(r.stderr, /unknown key bound_test/, r.out);
});

const bound = (config = {}) => ({
  ...config,
  ...load({ name: 'bound-section', path: plugin('bound_section.so') }),
});

test('bound section: settings come from the server config; keys below it nest; other keys still warn', async (t) => {
  const gyre = await startGyre(bound({ bound_test: { name: 'x', count: 5, nested: { flag: true }, typo: 1 } }));
  t.after(() => gyre.stop());
  await gyre.waitForLog(/\[bound-section\] bound settings: name=x count=5 flag=true/, 2000);
  const log = gyre.stderr();
  assert.match(log, /config: unknown key bound_test\.typo/, log);
  assert.doesNotMatch(log, /unknown key bound_test(\.name|\.count|\.nested|\s|$)/m, log);
});

test('bound section: schema defaults without the section; GYRE_<PATH> environment wins over the file', async (t) => {
  const plain = await startGyre(bound());
  t.after(() => plain.stop());
  await plain.waitForLog(/bound settings: name=unnamed count=1 flag=false/, 2000);
  const env = await startGyre(bound({ bound_test: { count: 5 } }), {
    env: { GYRE_BOUND_TEST_COUNT: '7', GYRE_BOUND_TEST_NESTED_FLAG: 'true' },
  });
  t.after(() => env.stop());
  await env.waitForLog(/bound settings: name=unnamed count=7 flag=true/, 2000);
  assert.doesNotMatch(env.stderr(), /unknown environment variable GYRE_BOUND_TEST/, env.stderr());
});

test('bound section: a wrong type names the full key (or the variable); load config is refused', async () => {
  const file = await expectStartupFailure(bound({ bound_test: { count: 'many' } }));
  errorLine(file, 'bound-section', 'config key "bound_test.count"', /integer/);
  const nested = await expectStartupFailure(bound({ bound_test: { nested: { flag: 'yes' } } }));
  errorLine(nested, 'bound-section', '"bound_test.nested.flag"', /boolean/);
  const notObject = await expectStartupFailure(bound({ bound_test: 3 }));
  errorLine(notObject, 'bound-section', 'section "bound_test" must be an object');
  const both = await expectStartupFailure(
    load({ name: 'bound-section', path: plugin('bound_section.so'), config: { count: 2 } }),
  );
  errorLine(both, 'bound-section', /config section "bound_test"/, /remove "config"/);
});

test('bound section: a wrong environment value names the variable', async () => {
  const port = await freePort();
  const { file, dir } = writeTempConfig({
    http_server: { address: '127.0.0.1', port },
    http_api: { key: API_KEY },
    ...bound(),
  });
  const r = await runGyre(['-c', file], { env: { GYRE_BOUND_TEST_COUNT: 'x' }, cwd: dir, timeoutMs: 5000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERROR .*bound-section: environment GYRE_BOUND_TEST_COUNT must be an integer/, r.stderr);
});

test('a command named like one of the server\'s own is refused (ABI 1.2)', async () => {
  const r = await expectStartupFailure(load({ name: 'command-reserved', path: plugin('command_reserved.so') }));
  errorLine(r, /plugin command-reserved\b/, /command "serve" is the server's own/);
});

test('gyre plugins lists the commands a plugin offers (auth-jwt, loaded by client.token.*)', async () => {
  const r = await listPlugins({ client: { token: { hmac_secret_key: 'x' } } });
  assert.equal(r.code, 0, r.out);
  assert.match(r.stdout, /^auth-jwt \S+  kinds: auth  /m, r.out);
  assert.match(r.stdout, /^    commands: gentoken, gensubtoken, checktoken, checksubtoken$/m, r.out);
});

// Plugin loading: the loader's rules (core/plugin_host.cc, core/node.cc) seen
// from outside. Each broken test plugin in tests/plugins/ must stop startup
// promptly with a non-zero exit and an ERROR line that names the problem;
// the valid one must load and get its config. (The rules of the auth and
// transport kinds and of bound config sections: plugin_kinds.test.js.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  PLUGIN_DIR,
  REAL_PLUGIN_DIR,
  abiVersion,
  errorLine,
  expectStartupFailure,
  listPlugins,
  load,
  plugin,
  removeTempDirs,
  tempDir,
} from './lib/plugins.js';
import { freePort, startGyre } from './lib/server.js';

const TEST_PLUGINS = [
  'wrong_major.so',
  'no_entry.so',
  'init_fails.so',
  'bad_name.so',
  'engine_missing_ops.so',
  'engine_missing_publish.so',
  'newer_minor.so',
  'short_descriptor.so',
  'good_noop.so',
];

before(() => {
  const missing = TEST_PLUGINS.filter((f) => !fs.existsSync(plugin(f)));
  assert.deepEqual(
    missing,
    [],
    `test plugins missing from ${PLUGIN_DIR}: build them with ` +
      '`cmake -S . -B build && cmake --build build` (target gyre-test-plugins)',
  );
  assert.ok(
    fs.existsSync(path.join(REAL_PLUGIN_DIR, 'engine-memory.so')),
    `engine-memory.so not found in ${REAL_PLUGIN_DIR}`,
  );
});

after(removeTempDirs);

test('wrong ABI major: refused, message gives both ABI versions', async () => {
  const { major, minor } = abiVersion();
  const r = await expectStartupFailure(
    load({ name: 'wrong-major', path: plugin('wrong_major.so') }),
  );
  const line = errorLine(r, 'wrong_major.so');
  assert.ok(line.includes(`${major + 1}.${minor}`), `plugin's ABI ${major + 1}.${minor} not named: ${line}`);
  assert.ok(line.includes(`${major}.${minor}`), `server's ABI ${major}.${minor} not named: ${line}`);
  assert.match(line, /ABI/);
  assert.doesNotMatch(r.stderr, /loaded plugin wrong-major/);
});

test('no gyre_plugin_entry symbol: refused, message names the symbol and the file', async () => {
  const r = await expectStartupFailure(load({ name: 'no-entry', path: plugin('no_entry.so') }));
  // The object exports "gyre_plugin_entry_point": the message must be about
  // the exact symbol, not the look-alike.
  errorLine(r, 'no_entry.so', /gyre_plugin_entry(?!_)/);
});

test('init fails: the plugin log line comes out, then an error naming the plugin and init', async () => {
  const r = await expectStartupFailure(
    load({ name: 'init-fails', path: plugin('init_fails.so') }),
  );
  // What the plugin logged through api->log, prefixed with its name.
  const pluginLine = errorLine(r, '[init-fails]', 'init-fails-test: refusing to start on purpose');
  const hostLine = errorLine(r, /plugin init-fails\b/, /init/i, /fail/i);
  assert.notEqual(pluginLine, hostLine);
  assert.ok(
    r.stderr.indexOf(pluginLine) < r.stderr.indexOf(hostLine),
    `the plugin's own reason should come before the host's verdict\n${r.out}`,
  );
  assert.doesNotMatch(r.stderr, /loaded plugin init-fails/);
});

test('descriptor name differs from the configured name: message names both', async () => {
  const r = await expectStartupFailure(load({ name: 'bad-name', path: plugin('bad_name.so') }));
  errorLine(r, '"misnamed-plugin"', '"bad-name"');
});

test('ENGINE kind without engine ops: refused, message names plugin and missing ops', async () => {
  const r = await expectStartupFailure(
    load({ name: 'engine-missing-ops', path: plugin('engine_missing_ops.so') }),
  );
  const line = errorLine(r, /plugin engine-missing-ops\b/, /\bengine ops\b/, /\b(no|missing|without|null)\b/i);
  assert.doesNotMatch(line, /calls itself/);
});

test('nonexistent plugin path: "cannot load plugin" naming plugin and path', async () => {
  const ghost = plugin('does_not_exist.so');
  const r = await expectStartupFailure(load({ name: 'ghost', path: ghost }));
  errorLine(r, /cannot load plugin ghost\b/, ghost);
});

test('plugins.dir pointing to an empty directory: the engine-memory load fails clearly', async () => {
  const empty = tempDir();
  const r = await expectStartupFailure({ plugins: { dir: empty } });
  errorLine(r, /cannot load plugin engine-memory\b/, path.join(empty, 'engine-memory.so'));
});

test('engine.type "redis" without an engine-redis plugin: clear error naming engine-redis', async () => {
  // A plugins.dir holding engine-memory only, so the test does not depend on
  // whether engine-redis.so happens to be built.
  const dir = tempDir();
  fs.symlinkSync(path.join(REAL_PLUGIN_DIR, 'engine-memory.so'), path.join(dir, 'engine-memory.so'));
  const r = await expectStartupFailure({ engine: { type: 'redis' }, plugins: { dir } });
  errorLine(r, /cannot load plugin engine-redis\b/, path.join(dir, 'engine-redis.so'));
  assert.doesNotMatch(r.stderr, /listening on/);
});

test('a valid plugin loads with its config; the server starts and answers /api/info', async (t) => {
  const gyre = await startGyre(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { greeting: 'x', count: 3 } }),
  );
  t.after(() => gyre.stop());
  const info = await gyre.api('info', {});
  assert.equal(info.status, 200, info.text);
  assert.ok(Array.isArray(info.json?.result?.nodes), info.text);
  await gyre.waitForLog(/loaded plugin good-noop\b/, 2000);
  // The plugin logs what config_get_* returned in its init.
  await gyre.waitForLog(/\[good-noop\] good-noop init: greeting=x count=3\b/, 2000);
  // good-noop is an extra plugin: the engine stays engine-memory.
  await gyre.waitForLog(/listening on .*\(engine engine-memory\)/, 2000);
});

test('a valid plugin without config gets its schema defaults', async (t) => {
  const gyre = await startGyre(load({ name: 'good-noop', path: plugin('good_noop.so') }));
  t.after(() => gyre.stop());
  assert.equal((await gyre.api('info', {})).status, 200);
  // greeting defaults to "hi"; count has no default.
  await gyre.waitForLog(/\[good-noop\] good-noop init: greeting=hi count=unset\b/, 2000);
});

test('plugin config with an unknown key: startup error naming plugin and key', async () => {
  const r = await expectStartupFailure(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { nope: 1 } }),
  );
  errorLine(r, 'good-noop', /\bnope\b/, /unknown/i);
  assert.doesNotMatch(r.stderr, /good-noop init:/, 'init must not run with a bad config');
});

test('plugin config with a wrong type: startup error naming plugin and key', async () => {
  const r = await expectStartupFailure(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { count: 'x' } }),
  );
  errorLine(r, 'good-noop', /\bcount\b/, /integer/);
  const r2 = await expectStartupFailure(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { greeting: 5 } }),
  );
  errorLine(r2, 'good-noop', /\bgreeting\b/, /string/);
});

test('the same plugin listed twice: startup error', async () => {
  const entry = { name: 'good-noop', path: plugin('good_noop.so') };
  const r = await expectStartupFailure(load(entry, entry));
  errorLine(r, 'good-noop', /already loaded|listed twice/);
  assert.doesNotMatch(r.stderr, /listening on/);
});

test('engine-memory listed explicitly with config {"sweep_interval":"5s"} starts', async (t) => {
  const gyre = await startGyre(load({ name: 'engine-memory', config: { sweep_interval: '5s' } }));
  t.after(() => gyre.stop());
  assert.equal((await gyre.api('info', {})).status, 200);
  // Listed without a path, it still comes from the default plugins dir.
  await gyre.waitForLog(/loaded plugin engine-memory\b.* from .*engine-memory\.so/, 2000);
  const pub = await gyre.api('publish', { channel: 'c', data: { n: 1 } });
  assert.equal(pub.status, 200, pub.text);
  assert.deepEqual(pub.json, { result: {} }, pub.text);
});

test('plugin durations: a bare number is accepted (milliseconds per plugin.h), garbage is not', async (t) => {
  // plugin_host.cc accepts a DURATION_MS setting as an integer or a duration
  // string; plugin.h documents a number as milliseconds.
  const gyre = await startGyre(load({ name: 'engine-memory', config: { sweep_interval: 5000 } }));
  t.after(() => gyre.stop());
  assert.equal((await gyre.api('info', {})).status, 200);

  const bad = await expectStartupFailure(
    load({ name: 'engine-memory', config: { sweep_interval: 'abc' } }),
  );
  errorLine(bad, 'engine-memory', /\bsweep_interval\b/, /duration/);
  const frac = await expectStartupFailure(
    load({ name: 'engine-memory', config: { sweep_interval: 1.5 } }),
  );
  errorLine(frac, 'engine-memory', /\bsweep_interval\b/, /duration/);
  // A negative duration parses, so the loader passes it on; engine-memory's
  // own init refuses it, logs why, and the host names the plugin.
  const neg = await expectStartupFailure(
    load({ name: 'engine-memory', config: { sweep_interval: '-1s' } }),
  );
  errorLine(neg, '[engine-memory]', /\bsweep_interval\b/, /negative/);
  errorLine(neg, /plugin engine-memory\b/, /init/i, /fail/i);
});

test('gyre plugins lists the engine and the configured plugins with versions, kinds and ABI', async () => {
  const { major, minor } = abiVersion();
  const r = await listPlugins(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { greeting: 'x', count: 3 } }),
  );
  assert.equal(r.code, 0, r.out);
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('    '));
  assert.match(lines[0], new RegExp(`^engine-memory \\S+  kinds: engine  ABI ${major}\\.${minor}  .*engine-memory\\.so$`), r.out);
  assert.match(lines[1], new RegExp(`^good-noop 0\\.0\\.1  kinds: engine  ABI \\d+\\.\\d+  .*good_noop\\.so$`), r.out);
  assert.match(r.stdout, new RegExp(`host ABI ${major}\\.${minor}: every plugin loads`), r.out);
  // init ran (and its log line stays out of the list).
  assert.doesNotMatch(r.stdout, /greeting=/, r.out);
});

test('gyre plugins fails with the loader\'s reason: wrong ABI major, bad plugin config', async () => {
  const { major, minor } = abiVersion();
  const bad = await listPlugins(load({ name: 'wrong-major', path: plugin('wrong_major.so') }));
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.stderr, new RegExp(`ABI ${major + 1}\\.${minor}.*ABI ${major}\\.${minor}`), bad.out);
  assert.doesNotMatch(bad.stdout, /every plugin loads/, bad.out);
  const cfg = await listPlugins(
    load({ name: 'good-noop', path: plugin('good_noop.so'), config: { nope: 1 } }),
  );
  assert.equal(cfg.code, 1, cfg.out);
  assert.match(cfg.stderr, /good-noop/, cfg.out);
  assert.match(cfg.stderr, /nope/, cfg.out);
});

test('a plugin built for a newer minor loads: the host reads the slots it knows and ignores the rest', async (t) => {
  const { major, minor } = abiVersion();
  const port = await freePort();
  const server = await startGyre(
    { http_server: { port }, log: { level: 'debug' }, ...load({ name: 'newer-minor', path: plugin('newer_minor.so') }) },
  );
  t.after(() => server.stop());
  await server.waitForLog(/loaded plugin newer-minor 0\.0\.1/);
  assert.match(server.stderr(), new RegExp(`newer-minor init: host ABI ${major}\\.${minor}, host api size \\d+`));
  const info = await server.api('info', {});
  assert.equal(info.status, 200, info.text);
});

test('a descriptor shorter than the host\'s: missing slots read as absent (ENGINE without engine ops is refused)', async () => {
  const r = await expectStartupFailure(load({ name: 'short-descriptor', path: plugin('short_descriptor.so') }));
  errorLine(r, 'short-descriptor', 'engine ops');
});

test('the selected engine lacks a required hook: startup fails naming it', async () => {
  const r = await expectStartupFailure(
    load({ name: 'engine-memory', path: plugin('engine_missing_publish.so') }),
  );
  const line = errorLine(r, 'engine-memory', 'publish');
  assert.match(line, /lack .*publish/);
  const listed = await listPlugins(load({ name: 'engine-memory', path: plugin('engine_missing_publish.so') }));
  assert.equal(listed.code, 1, listed.out);
  assert.match(listed.stderr, /engine ops lack .*publish/, listed.out);
});

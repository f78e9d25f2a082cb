// How a Centrifugo config reaches the transport-sse plugin: each
// *.enabled key, from the file, a GYRE_* variable or a --*.enabled flag,
// loads it; handler_prefix moves an endpoint; bad values and path clashes
// stop startup naming the key; with nothing enabled the plugin stays out.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runGyre, startGyre, writeTempConfig } from './lib/server.js';

const TEST_TIMEOUT = 20_000;

async function server(t, config, opts) {
  const gyre = await startGyre({ client: { allow_anonymous_connect_without_token: true }, ...config }, opts);
  t.after(() => gyre.stop());
  return gyre;
}

const connectQuery = `cf_connect=${encodeURIComponent(JSON.stringify({ id: 1, connect: {} }))}`;

async function status(url, init) {
  const res = await fetch(url, init);
  await res.body?.cancel();
  return res.status;
}

test('a --uni_http_stream.enabled flag alone serves that endpoint, nothing else', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t, {}, { args: ['--uni_http_stream.enabled'] });
  assert.equal(await status(`${gyre.url}/connection/uni_http_stream`, { method: 'POST', body: '{}' }), 200);
  assert.equal(await status(`${gyre.url}/connection/sse?${connectQuery}`), 404);
  assert.equal(await status(`${gyre.url}/emulation`, { method: 'POST', body: '{}' }), 404);
  await gyre.waitForLog(/loaded plugin transport-sse/);
});

test('GYRE_SSE_ENABLED and GYRE_SSE_HANDLER_PREFIX: sse at its new path, with /emulation', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t, {}, { env: { GYRE_SSE_ENABLED: 'true', GYRE_SSE_HANDLER_PREFIX: '/rt/sse' } });
  assert.equal(await status(`${gyre.url}/rt/sse?${connectQuery}`), 200);
  assert.equal(await status(`${gyre.url}/connection/sse?${connectQuery}`), 404);
  assert.equal(await status(`${gyre.url}/emulation`, { method: 'POST', body: '{}' }), 400, 'emulation is on');
  assert.equal(await status(`${gyre.url}/connection/http_stream`, { method: 'POST', body: '{}' }), 404);
});

test('emulation.handler_prefix moves the emulation endpoint', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t, { http_stream: { enabled: true }, emulation: { handler_prefix: '/rt/emu' } });
  assert.equal(await status(`${gyre.url}/rt/emu`, { method: 'POST', body: '{}' }), 400);
  assert.equal(await status(`${gyre.url}/emulation`, { method: 'POST', body: '{}' }), 404);
});

test('with nothing enabled the plugin is not loaded', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t, { sse: { max_request_body_size: 100 } });
  assert.equal(await status(`${gyre.url}/connection/sse?${connectQuery}`), 404);
  const { file } = writeTempConfig({ sse: { enabled: false } });
  const r = await runGyre(['plugins', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /transport-sse/);
  const on = writeTempConfig({ uni_sse: { enabled: true } });
  const r2 = await runGyre(['plugins', '-c', on.file]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /transport-sse/);
});

test('bad values and clashing paths stop startup, naming the key', { timeout: TEST_TIMEOUT }, async () => {
  const cases = [
    [{ sse: { enabled: true, max_request_body_size: 0 } }, /sse\.max_request_body_size/],
    [{ sse: { enabled: true, max_request_body_size: 'big' } }, /sse\.max_request_body_size/],
    [{ uni_sse: { enabled: true, handler_prefix: 'no-slash' } }, /uni_sse\.handler_prefix/],
    [{ uni_sse: { enabled: 'yes' } }, /uni_sse\.enabled/],
    [{ http_stream: { enabled: true, handler_prefix: '/connection/websocket' } }, /http_stream at \/connection\/websocket/],
    [
      { uni_sse: { enabled: true }, uni_http_stream: { enabled: true, handler_prefix: '/connection/uni_sse' } },
      /uni_http_stream at \/connection\/uni_sse/,
    ],
  ];
  for (const [config, re] of cases) {
    const { file } = writeTempConfig({ http_server: { port: 1 }, ...config });
    const r = await runGyre(['plugins', '-c', file]);
    assert.equal(r.code, 1, `${JSON.stringify(config)}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout + r.stderr, re, JSON.stringify(config));
  }
});

test('checkconfig knows the plugin sections: --strict passes their keys, fails on unsupported ones', {
  timeout: TEST_TIMEOUT,
}, async () => {
  const good = writeTempConfig({
    sse: { enabled: true, handler_prefix: '/s', max_request_body_size: 1000 },
    uni_websocket: { enabled: true, handler_prefix: '/u' },
    emulation: { handler_prefix: '/e' },
  });
  let r = await runGyre(['checkconfig', '--strict', good.file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const unsupported = writeTempConfig({ uni_websocket: { enabled: true, join_push_messages: true } });
  r = await runGyre(['checkconfig', '--strict', unsupported.file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown key uni_websocket\.join_push_messages/);
  const bad = writeTempConfig({ http_stream: { enabled: true, max_request_body_size: 'big' } });
  r = await runGyre(['checkconfig', bad.file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /http_stream\.max_request_body_size/);
});

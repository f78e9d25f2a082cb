// Connect proxy and RPC proxy (server-api spec §5): Gyre calls the app's
// backend over HTTP (lib/backend.js records every call and answers what the
// test says) and the official centrifuge SDK (5.7.4) or a raw WebSocket sees
// the outcome.
//
// Connect: the exact request body and headers (allow-listed transport and
// emulated headers, static headers, precedence), every result field that
// matters (user, info, data, expire_at, channels, subs), the reject forms
// (disconnect, error, precedence disconnect > error > result), "no
// credentials" ({} / null result), unexpected errors (non-200, bad JSON,
// dropped connection, timeout, refused) → 100 temporary with the SDK
// reconnecting, token connects bypassing the proxy, 50 concurrent connects,
// uni_websocket through the proxy, clients leaving and shutdown while calls
// are in flight.
// RPC: the exact request body, result pass-through, named proxy routing,
// 104/108 routing errors, the built-in ping, custom errors and disconnects,
// unexpected errors, per-proxy timeouts, headers kept for later calls, no
// RPC proxy at all. http.status_to_code_transforms for both.
// Config validation: unusable proxies make gyre refuse to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { deepMerge, startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';
import { WebSocket, collect, newCentrifuge, waitFor } from './lib/client.js';
import { keyFor, mint } from './lib/jwt.js';
import { refusedUrl, startBackend } from './lib/backend.js';

const TEST_TIMEOUT = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Error 100 as the raw reply carries it and as the SDK reports it.
const INTERNAL = { code: 100, message: 'internal server error', temporary: true };
const SDK_INTERNAL = INTERNAL;
const USER56 = { json: { result: { user: '56' } } };

// The config under test, every endpoint on `backend` (or on `urls[path]`).
function proxyConfig(backend, urls = {}) {
  const at = (p) => urls[p] ?? backend.url(p);
  return {
    client: {
      proxy: {
        connect: {
          enabled: true,
          endpoint: at('/connect'),
          timeout: '1s',
          http_headers: ['Authorization', 'X-Custom'],
          emulated_headers: ['X-Emulated'],
          http: { static_headers: { 'X-Static': 's1' } },
        },
      },
    },
    proxies: [{ name: 'billing', endpoint: at('/billing'), timeout: '500ms' }],
    rpc: {
      proxy: { endpoint: at('/rpc'), timeout: '1s' },
      without_namespace: { proxy_enabled: true },
      namespace_boundary: ':',
      namespaces: [
        { name: 'bill', proxy_enabled: true, proxy_name: 'billing' },
        { name: 'off', proxy_enabled: false },
      ],
      ping: { enabled: true, method: 'ping' },
    },
    // Presence, so the server API can show who a connection is.
    channel: { without_namespace: { presence: true }, namespaces: [{ name: 'chat', presence: true }] },
  };
}

// A handler answering by path: routes[path] is an answer or a function
// (req) => answer. Unrouted paths get a 404 (which is an unexpected error).
function route(routes) {
  return (req) => {
    const r = routes[req.path];
    if (r === undefined) return { status: 404, body: `no route for ${req.path}` };
    return typeof r === 'function' ? r(req) : r;
  };
}

// A backend plus a gyre using it, torn down after the test. opts:
//   routes  the backend's answers (see route())
//   config  merged over proxyConfig(backend, urls)   (objects merge, arrays replace)
//   urls    endpoint overrides by path (e.g. a refused URL)
//   base    false: start from {} instead of proxyConfig
// Returns {backend, gyre, mk(opts), raw(opts)}: SDK clients reconnect fast
// (100–300 ms) and, like raw sockets, are closed when the test ends.
async function setup(t, { routes = { '/connect': USER56 }, config = {}, urls = {}, base = true } = {}) {
  const backend = await startBackend(route(routes));
  const clients = [];
  const raws = [];
  let gyre = null;
  t.after(async () => {
    for (const c of clients) c.disconnect();
    for (const w of raws) w.terminate();
    if (gyre) await gyre.stop();
    await backend.close();
  });
  const cfg = base ? deepMerge(proxyConfig(backend, urls), config) : config;
  gyre = await startGyre(typeof cfg === 'function' ? cfg(backend) : cfg);
  const mk = (opts = {}) => {
    const c = newCentrifuge(gyre.wsUrl, { minReconnectDelay: 100, maxReconnectDelay: 300, ...opts });
    clients.push(c);
    return c;
  };
  const raw = async (opts) => {
    const w = await openRaw(gyre.wsUrl, opts);
    raws.push(w);
    return w;
  };
  return { backend, gyre, mk, raw };
}

// A `ws` class that sends `headers` with the upgrade request (the SDK has
// no option for transport headers).
function wsWithHeaders(headers) {
  return class HeaderWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers });
    }
  };
}

async function rejection(promise) {
  try {
    const v = await promise;
    return { resolved: v };
  } catch (e) {
    return e;
  }
}

// Connects an SDK client; resolves with the `connected` context, rejects
// early with the code when it ends disconnected instead.
async function connectOk(c, timeoutMs = 5000) {
  const failed = new Promise((_, reject) =>
    c.once('disconnected', (ctx) => reject(new Error(`disconnected instead: ${ctx.code} ${ctx.reason}`))),
  );
  const connected = waitFor(c, 'connected', timeoutMs);
  c.connect();
  return Promise.race([connected, failed]);
}

// One raw connect command; resolves with the first reply, or {closed} when
// the server closes the socket first.
async function rawConnect(raw, connect = {}, timeoutMs = 5000) {
  const ws = await raw();
  ws.sendJson({ id: 1, connect });
  try {
    return await ws.nextJson(timeoutMs);
  } catch (e) {
    if (ws.closeInfo) return { closed: ws.closeInfo };
    throw e;
  }
}

// The backend requests to `path` so far.
const calls = (backend, path) => backend.requestsTo({ path });

// Server-side subscribes every connection of `user` to `channel` through the
// server API and returns the channel's presence entry of `client`.
async function presenceOf(gyre, c, user, client, channel = 'chat:who') {
  const subscribed = waitFor(c, 'subscribed');
  const r = await gyre.api('subscribe', { user, channel });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { result: {} }, r.text);
  const ctx = await subscribed;
  assert.equal(ctx.channel, channel);
  const p = await gyre.api('presence', { channel });
  assert.equal(p.status, 200, p.text);
  const entries = p.json?.result?.presence ?? {};
  assert.deepEqual(Object.keys(entries), [client], p.text);
  return entries[client];
}

// ---------------------------------------------------------------------------
// Config

test('config: the proxy sections are known keys and gyre starts with them', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const r = await gyre.api('info', {});
  assert.equal(r.status, 200, r.text);
  const warnings = gyre.stderr().match(/unknown key \S+/g) ?? [];
  assert.deepEqual(warnings, [], `unexpected config warnings:\n${gyre.stderr()}`);
});

// ---------------------------------------------------------------------------
// Connect: request

test('connect: POST /connect with exactly client, transport, protocol, encoding, name, version, data', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, mk } = await setup(t);
  const c = mk({ data: { k: 'v', n: [1, 2] }, version: '1.2.3' });
  const ctx = await connectOk(c);
  const [req] = calls(backend, '/connect');
  assert.ok(req, 'the backend was called');
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'] ?? '', /^application\/json\b/);
  assert.deepEqual(req.body, {
    client: ctx.client,
    transport: 'websocket',
    protocol: 'json',
    encoding: 'json',
    name: 'js',
    version: '1.2.3',
    data: { k: 'v', n: [1, 2] },
  }, req.raw);
  assert.equal(typeof ctx.client, 'string');
  assert.ok(ctx.client.length > 0);
  assert.equal(calls(backend, '/connect').length, 1, 'exactly one connect call');
});

test('connect: fields the client did not send are absent (SDK defaults; raw connect {})', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, mk, raw } = await setup(t);
  // The SDK always sends name "js"; version and data only when set.
  const c = mk();
  const ctx = await connectOk(c);
  const [sdkReq] = calls(backend, '/connect');
  assert.deepEqual(sdkReq.body, { client: ctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', name: 'js' }, sdkReq.raw);

  // A bare connect: only the four common fields.
  const reply = await rawConnect(raw, {});
  assert.ok(reply.connect, JSON.stringify(reply));
  const rawReq = calls(backend, '/connect')[1];
  assert.deepEqual(rawReq.body, { client: reply.connect.client, transport: 'websocket', protocol: 'json', encoding: 'json' }, rawReq.raw);
  assert.notEqual(reply.connect.client, ctx.client);
});

test('connect: headers: allow-listed transport and emulated headers, static headers, precedence', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, mk } = await setup(t, {
    config: {
      client: {
        proxy: {
          connect: {
            http: { static_headers: { 'X-Static': 's1', 'X-Custom': 'static-custom', 'X-Emulated': 'static-emulated' } },
          },
        },
      },
    },
  });
  const headersOf = async (c) => {
    const ctx = await connectOk(c);
    const req = calls(backend, '/connect').find((r) => r.body?.client === ctx.client);
    assert.ok(req, `a connect call for ${ctx.client}`);
    return req.headers;
  };

  // The headers that matter, as one object (absent ones undefined), so a
  // failure shows every difference at once.
  const pick = (h) => ({
    authorization: h.authorization,
    'x-custom': h['x-custom'],
    'x-emulated': h['x-emulated'],
    'x-static': h['x-static'],
    'x-other': h['x-other'],
    'x-secret': h['x-secret'],
    'content-type': h['content-type']?.split(';')[0],
  });

  // A: every kind at once.
  const a = await headersOf(
    mk({
      websocket: wsWithHeaders({
        Authorization: 'Bearer abc',
        'x-custom': 'transport-custom', // allow-list is case-insensitive
        'X-Other': 'other', // not allow-listed
        'X-Emulated': 'transport-emulated', // only allow-listed as emulated
      }),
      headers: { 'X-Emulated': 'em1', 'X-Custom': 'emulated-custom', 'X-Secret': 'nope' },
    }),
  );
  assert.deepEqual(pick(a), {
    authorization: 'Bearer abc', // allow-listed transport header
    'x-custom': 'transport-custom', // transport wins over static (and X-Custom is no emulated name)
    'x-emulated': 'em1', // emulated wins over static; as a transport header it is not listed
    'x-static': 's1',
    'x-other': undefined, // non-listed transport header
    'x-secret': undefined, // non-listed emulated header
    'content-type': 'application/json',
  });

  // B: nothing from the client: the static headers alone.
  const b = await headersOf(mk());
  assert.deepEqual(pick(b), {
    authorization: undefined,
    'x-custom': 'static-custom',
    'x-emulated': 'static-emulated',
    'x-static': 's1',
    'x-other': undefined,
    'x-secret': undefined,
    'content-type': 'application/json',
  });

  // C: an emulated header only; D: an emulated Authorization is not
  // forwarded (only X-Emulated is on the emulated list).
  const c = await headersOf(mk({ headers: { 'X-Emulated': 'em2', Authorization: 'Bearer forged' } }));
  assert.deepEqual(pick(c), {
    authorization: undefined,
    'x-custom': 'static-custom',
    'x-emulated': 'em2',
    'x-static': 's1',
    'x-other': undefined,
    'x-secret': undefined,
    'content-type': 'application/json',
  });
});

// ---------------------------------------------------------------------------
// Connect: results

test('connect result: user, info, data, expire_at 0 → connected as 56 with the data, info in presence, no expiry', { timeout: TEST_TIMEOUT }, async (t) => {
  const answer = { json: { result: { user: '56', info: { a: 1 }, data: { hello: 'x' }, expire_at: 0 } } };
  const { gyre, mk, raw } = await setup(t, { routes: { '/connect': answer } });
  const c = mk();
  const ctx = await connectOk(c);
  assert.deepEqual(ctx.data, { hello: 'x' });
  const p = await presenceOf(gyre, c, '56', ctx.client);
  assert.deepEqual(p, { client: ctx.client, user: '56', conn_info: { a: 1 } });

  // The raw reply: data passed through, no expiry.
  const reply = await rawConnect(raw, {});
  assert.ok(reply.connect, JSON.stringify(reply));
  assert.deepEqual(reply.connect.data, { hello: 'x' });
  assert.equal(reply.connect.expires, undefined, JSON.stringify(reply));
  assert.equal(reply.connect.ttl, undefined, JSON.stringify(reply));
});

test('connect result: expire_at in the future → the reply says expires with the ttl left', { timeout: TEST_TIMEOUT }, async (t) => {
  const { raw } = await setup(t, {
    routes: { '/connect': () => ({ json: { result: { user: '56', expire_at: Math.floor(Date.now() / 1000) + 100 } } }) },
  });
  const reply = await rawConnect(raw, {});
  assert.ok(reply.connect, JSON.stringify(reply));
  assert.equal(reply.connect.expires, true, JSON.stringify(reply));
  assert.ok(reply.connect.ttl > 90 && reply.connect.ttl <= 100, `ttl ${reply.connect.ttl}`);
});

test('connect result: user "" → an anonymous connection is accepted', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t, { routes: { '/connect': { json: { result: { user: '' } } } } });
  // allow_anonymous_connect_without_token is off: the backend's word is enough.
  const c = mk();
  const ctx = await connectOk(c);
  const p = await presenceOf(gyre, c, '', ctx.client);
  assert.deepEqual(p, { client: ctx.client, user: '' });
});

test('connect result: channels → server-side subscription; an API publish reaches the client', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t, { routes: { '/connect': { json: { result: { user: '56', channels: ['news'] } } } } });
  const c = mk();
  const subscribed = waitFor(c, 'subscribed');
  const ctx = await connectOk(c);
  const sctx = await subscribed;
  assert.equal(sctx.channel, 'news');
  const pubs = collect(c, 'publication');
  const r = await gyre.api('publish', { channel: 'news', data: { n: 1 } });
  assert.equal(r.status, 200, r.text);
  await pubs.waitForCount(1);
  assert.equal(pubs[0].channel, 'news');
  assert.deepEqual(pubs[0].data, { n: 1 });
  // The subscription belongs to user 56.
  const p = await gyre.api('presence', { channel: 'news' });
  assert.deepEqual(p.json, { result: { presence: { [ctx.client]: { client: ctx.client, user: '56' } } } }, p.text);
});

test('connect result: channels and subs are merged; subs data reaches the client', { timeout: TEST_TIMEOUT }, async (t) => {
  const answer = { json: { result: { user: '56', channels: ['news'], subs: { 'chat:room': { data: { welcome: 1 } } } } } };
  const { mk } = await setup(t, { routes: { '/connect': answer } });
  const c = mk();
  const subs = collect(c, 'subscribed');
  await connectOk(c);
  await subs.waitForCount(2);
  const byChannel = Object.fromEntries(subs.map((s) => [s.channel, s]));
  assert.deepEqual(Object.keys(byChannel).sort(), ['chat:room', 'news']);
  assert.deepEqual(byChannel['chat:room'].data, { welcome: 1 });
  assert.equal(byChannel.news.data, undefined);
});

test('connect result: a channel in an unknown namespace → connect error 102', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, raw } = await setup(t, { routes: { '/connect': { json: { result: { user: '56', channels: ['nope:x'] } } } } });
  const reply = await rawConnect(raw, {});
  assert.deepEqual(reply, { id: 1, error: { code: 102, message: 'unknown channel' } });
  await sleep(100);
  const info = await gyre.api('info', {});
  assert.equal(info.json.result.nodes[0].num_clients, 0, info.text);
});

test('connect reject: disconnect 4501 → the SDK is disconnected with 4501 and does not reconnect', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, mk, raw } = await setup(t, {
    routes: { '/connect': { json: { disconnect: { code: 4501, reason: 'unauthorized' } } } },
  });
  const c = mk();
  const disconnected = waitFor(c, 'disconnected');
  c.connect();
  assert.deepEqual(await disconnected, { code: 4501, reason: 'unauthorized' });
  assert.equal(c.state, 'disconnected');
  await sleep(1000);
  assert.equal(calls(backend, '/connect').length, 1, 'no reconnect attempt reached the backend');

  // On the wire: the socket is closed with that code and reason.
  const reply = await rawConnect(raw, {});
  assert.deepEqual(reply, { closed: { code: 4501, reason: 'unauthorized' } });
});

test('connect reject: error 403 → connect error 403 (terminal for the SDK); temporary errors are retried', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = { json: { error: { code: 403, message: 'forbidden' } } };
  const { backend, mk, raw } = await setup(t, { routes: { '/connect': () => answer } });
  // The exact reply.
  assert.deepEqual(await rawConnect(raw, {}), { id: 1, error: { code: 403, message: 'forbidden' } });

  // centrifuge-js: a connect error >= 100 that is not temporary ends the
  // client (disconnected with the error's code and message, no retry).
  const c = mk();
  const disconnected = waitFor(c, 'disconnected');
  c.connect();
  assert.deepEqual(await disconnected, { code: 403, reason: 'forbidden' });
  await sleep(800);
  assert.equal(calls(backend, '/connect').length, 2, 'one raw and one SDK call, no retry');

  // temporary: true is passed on: the SDK reports it and tries again.
  answer = { json: { error: { code: 1001, message: 'try later', temporary: true } } };
  assert.deepEqual(await rawConnect(raw, {}), { id: 1, error: { code: 1001, message: 'try later', temporary: true } });
  const c2 = mk();
  const errors = collect(c2, 'error');
  c2.connect();
  await errors.waitForCount(2, 5000);
  assert.deepEqual(errors[0], { type: 'connect', error: { code: 1001, message: 'try later', temporary: true } });
  // Then the backend lets it in.
  const connected = waitFor(c2, 'connected');
  answer = USER56;
  await connected;
});

test('connect reject: precedence disconnect > error > result', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer;
  const { raw } = await setup(t, { routes: { '/connect': () => answer } });
  answer = {
    json: {
      result: { user: '56' },
      error: { code: 403, message: 'forbidden' },
      disconnect: { code: 4502, reason: 'go away' },
    },
  };
  assert.deepEqual(await rawConnect(raw, {}), { closed: { code: 4502, reason: 'go away' } });
  answer = { json: { result: { user: '56' }, error: { code: 403, message: 'forbidden' } } };
  assert.deepEqual(await rawConnect(raw, {}), { id: 1, error: { code: 403, message: 'forbidden' } });
});

test('connect result: {} or null result = no credentials → disconnect 3501 without anonymous connects', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = { json: {} };
  const { backend, mk, raw } = await setup(t, {
    routes: { '/connect': () => answer },
    config: { client: { allow_anonymous_connect_without_token: false } },
  });
  assert.deepEqual(await rawConnect(raw, {}), { closed: { code: 3501, reason: 'bad request' } });
  answer = { json: { result: null } };
  assert.deepEqual(await rawConnect(raw, {}), { closed: { code: 3501, reason: 'bad request' } });

  answer = { json: {} };
  const c = mk();
  const disconnected = waitFor(c, 'disconnected');
  c.connect();
  assert.deepEqual(await disconnected, { code: 3501, reason: 'bad request' });
  await sleep(600);
  assert.equal(calls(backend, '/connect').length, 3, 'the SDK does not reconnect after 3501');
});

test('connect result: {} with allow_anonymous_connect_without_token → anonymous connection', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t, {
    routes: { '/connect': { json: {} } },
    config: { client: { allow_anonymous_connect_without_token: true } },
  });
  const c = mk();
  const ctx = await connectOk(c);
  const p = await presenceOf(gyre, c, '', ctx.client);
  assert.deepEqual(p, { client: ctx.client, user: '' });
});

// ---------------------------------------------------------------------------
// Connect: unexpected errors

const CONNECT_FAILURES = [
  ['HTTP 500 (with a valid-looking body)', { status: 500, json: { result: { user: '56' } } }],
  ['HTTP 404', { status: 404, body: 'not found' }],
  ['HTTP 201', { status: 201, json: { result: { user: '56' } } }],
  ['a body that is not JSON', { body: 'this is not json' }],
  ['a truncated JSON body', { body: '{"result":{"user":"56"' }],
  ['an empty body', { body: '' }],
  ['the connection closed without an answer', { destroy: true }],
  ['no answer within the timeout (1s)', { delayMs: 1600, json: { result: { user: '56' } } }],
];

for (const [what, failure] of CONNECT_FAILURES) {
  test(`connect unexpected error: ${what} → 100 temporary; the SDK keeps reconnecting; the server stays healthy`, { timeout: TEST_TIMEOUT }, async (t) => {
    let answer = failure;
    const { backend, gyre, mk, raw } = await setup(t, { routes: { '/connect': () => answer } });

    const started = Date.now();
    const reply = await rawConnect(raw, {}, 5000);
    const elapsed = Date.now() - started;
    assert.deepEqual(reply, { id: 1, error: INTERNAL });
    if (failure.delayMs) {
      assert.ok(elapsed >= 900, `the timeout fired after ${elapsed} ms, before 1s`);
      assert.ok(elapsed < 1500, `the 1s timeout fired only after ${elapsed} ms`);
    }

    const c = mk();
    const errors = collect(c, 'error');
    c.connect();
    await errors.waitForCount(2, 8000);
    assert.deepEqual(errors[0], { type: 'connect', error: SDK_INTERNAL });
    assert.deepEqual(errors[1], { type: 'connect', error: SDK_INTERNAL });
    assert.equal(c.state, 'connecting');
    assert.ok(calls(backend, '/connect').length >= 3, 'every attempt reached the backend');

    // The server is fine: the API answers, and once the backend recovers the
    // same SDK client gets in on its next attempt.
    assert.equal((await gyre.api('info', {})).status, 200);
    const connected = waitFor(c, 'connected', 8000);
    answer = USER56;
    await connected;
    assert.equal(c.state, 'connected');
  });
}

test('connect unexpected error: connection refused → 100 temporary, SDK retries, server healthy', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk, raw } = await setup(t, { urls: { '/connect': await refusedUrl('/connect') } });
  assert.deepEqual(await rawConnect(raw, {}), { id: 1, error: INTERNAL });
  const c = mk();
  const errors = collect(c, 'error');
  c.connect();
  await errors.waitForCount(3, 8000);
  for (const e of errors.slice(0, 3)) assert.deepEqual(e, { type: 'connect', error: SDK_INTERNAL });
  assert.equal(c.state, 'connecting');
  const info = await gyre.api('info', {});
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json.result.nodes[0].num_clients, 0, info.text);
});

// ---------------------------------------------------------------------------
// Connect: tokens bypass the proxy

test('connect with a token: the proxy is not called (valid or invalid token)', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const { backend, mk } = await setup(t, {
    routes: { '/connect': USER56, '/rpc': (req) => ({ json: { result: { data: { user: req.body?.user } } } }) },
    config: { client: { token: key.config } },
  });
  const c = mk({ token: await mint({ sub: 'tok-user' }, key) });
  await connectOk(c);
  // The connection is the token's user (as the RPC proxy sees it).
  const r = await c.rpc('whoami', {});
  assert.deepEqual(r.data, { user: 'tok-user' });

  // A bad token is refused as such; no fallback to the proxy.
  const bad = mk({ token: 'not-a-jwt' });
  const disconnected = waitFor(bad, 'disconnected');
  bad.connect();
  assert.deepEqual(await disconnected, { code: 3500, reason: 'invalid token' });
  await sleep(300);
  assert.equal(calls(backend, '/connect').length, 0, 'connect proxy called for a token connect');
  assert.equal(calls(backend, '/rpc').length, 1);
});

// ---------------------------------------------------------------------------
// Connect: concurrency

test('connect: 50 clients at once through a backend that takes 200 ms all connect', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, gyre, mk } = await setup(t, {
    routes: { '/connect': (req) => ({ delayMs: 200, json: { result: { user: `u${req.body?.data?.i}` } } }) },
  });
  const N = 50;
  const clients = Array.from({ length: N }, (_, i) => mk({ data: { i } }));
  const started = Date.now();
  await Promise.all(clients.map((c) => connectOk(c, 15000)));
  const elapsed = Date.now() - started;
  // Serial calls would take N × 200 ms = 10 s.
  assert.ok(elapsed < 8000, `50 connects took ${elapsed} ms`);
  assert.ok(backend.maxInFlight >= 5, `at most ${backend.maxInFlight} proxy calls were in flight at once`);
  assert.equal(calls(backend, '/connect').length, N);
  const info = await gyre.api('info', {});
  assert.equal(info.json.result.nodes[0].num_clients, N, info.text);
  assert.equal(info.json.result.nodes[0].num_users, N, info.text);
});

// ---------------------------------------------------------------------------
// Connect over a unidirectional transport (uni_websocket)

// A raw uni_websocket whose first message is the connect request; returns
// the socket and a reader of pushes (pings skipped).
async function uniConnect(gyre, t, request, headers) {
  const ws = await openRaw(`ws://127.0.0.1:${gyre.port}/connection/uni_websocket`, { headers });
  t.after(() => ws.terminate());
  ws.sendJson(request);
  const nextPush = async (ms = 5000) => {
    for (;;) {
      const m = await ws.nextJson(ms);
      if (Object.keys(m).length) return m;
    }
  };
  return { ws, nextPush };
}

test('uni_websocket: the connect proxy gets transport uni_websocket and the upgrade headers; the backend\'s channels become subscriptions', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, gyre } = await setup(t, {
    routes: { '/connect': { json: { result: { user: '56', channels: ['news'] } } } },
    config: { uni_websocket: { enabled: true } },
  });
  const { nextPush } = await uniConnect(
    gyre,
    t,
    { name: 'uni', data: { u: 1 } },
    { 'X-Custom': 'uni-custom' },
  );
  const first = await nextPush();
  assert.ok(first.connect, JSON.stringify(first));
  const [req] = calls(backend, '/connect');
  assert.equal(req.headers['x-custom'], 'uni-custom');
  assert.equal(req.headers['x-static'], 's1');
  assert.deepEqual(Object.keys(first.connect.subs ?? {}), ['news'], JSON.stringify(first));
  assert.equal((await gyre.api('publish', { channel: 'news', data: { n: 1 } })).status, 200);
  const pub = await nextPush();
  assert.deepEqual(pub, { channel: 'news', pub: { data: { n: 1 } } });
  assert.deepEqual(req.body, {
    client: first.connect.client,
    transport: 'uni_websocket',
    protocol: 'json',
    encoding: 'json',
    name: 'uni',
    data: { u: 1 },
  }, req.raw);
});

test('uni_websocket: an unexpected connect proxy error closes the stream with 3004', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t, {
    routes: { '/connect': { status: 500, body: 'boom' } },
    config: { uni_websocket: { enabled: true } },
  });
  const { ws } = await uniConnect(gyre, t, {});
  const closed = await Promise.race([ws.closed, sleep(5000).then(() => 'still open')]);
  assert.deepEqual(closed, { code: 3004, reason: 'internal server error' });
});

// ---------------------------------------------------------------------------
// Connect/RPC: the client or the server goes away while a call is in flight

test('a client that leaves while its connect or rpc call is in flight: the answer is dropped, the server is fine', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, gyre, mk, raw } = await setup(t, {
    routes: {
      '/connect': (req) => (req.body?.data?.slow ? { delayMs: 600, ...USER56 } : USER56),
      '/rpc': { delayMs: 600, json: { result: { data: 'late' } } },
    },
  });
  // Connect in flight.
  const ws = await raw();
  ws.sendJson({ id: 1, connect: { data: { slow: true } } });
  await backend.waitForRequests(1, { path: '/connect' });
  await ws.terminate();
  // RPC in flight.
  const c = mk();
  await connectOk(c);
  c.rpc('getPrice', {}).catch(() => {});
  await backend.waitForRequests(1, { path: '/rpc' });
  c.disconnect();
  await sleep(1000); // both answers have come back by now
  const info = await gyre.api('info', {});
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json.result.nodes[0].num_clients, 0, info.text);
  // And it still serves.
  const c2 = mk();
  await connectOk(c2);
  assert.equal(c2.state, 'connected');
});

test('shutdown with connect and rpc calls in flight exits promptly', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, gyre, mk, raw } = await setup(t, {
    routes: {
      '/connect': (req) => (req.body?.data?.slow ? { delayMs: 8000, ...USER56 } : USER56),
      '/rpc': { delayMs: 8000, json: { result: {} } },
    },
    config: { client: { proxy: { connect: { timeout: '10s' } } }, rpc: { proxy: { timeout: '10s' } } },
  });
  const c = mk();
  await connectOk(c);
  c.rpc('getPrice', {}).catch(() => {});
  const ws = await raw();
  ws.sendJson({ id: 1, connect: { data: { slow: true } } });
  await backend.waitForRequests(1, { path: '/rpc' });
  await backend.waitForRequests(2, { path: '/connect' });
  const started = Date.now();
  const exit = await gyre.stop({ timeoutMs: 6000 });
  const elapsed = Date.now() - started;
  assert.notEqual(exit?.signal, 'SIGKILL', 'gyre had to be killed');
  assert.equal(exit?.code, 0, `exit ${JSON.stringify(exit)}\n${gyre.stderr()}`);
  assert.ok(elapsed < 4000, `shutdown took ${elapsed} ms`);
});

// ---------------------------------------------------------------------------
// RPC

async function rpcSetup(t, routes, more = {}) {
  const s = await setup(t, { routes: { '/connect': USER56, ...routes }, ...more });
  const c = s.mk();
  const ctx = await connectOk(c);
  return { ...s, c, ctx };
}

test('rpc: POST /rpc with exactly client, transport, protocol, encoding, user, method, data; result data back', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, c, ctx } = await rpcSetup(t, { '/rpc': { json: { result: { data: { price: 42 } } } } });
  const r = await c.rpc('getPrice', { id: 12 });
  assert.deepEqual(r, { data: { price: 42 } });
  const [req] = calls(backend, '/rpc');
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'] ?? '', /^application\/json\b/);
  assert.deepEqual(req.body, {
    client: ctx.client,
    transport: 'websocket',
    protocol: 'json',
    encoding: 'json',
    user: '56',
    method: 'getPrice',
    data: { id: 12 },
  }, req.raw);
  assert.equal(calls(backend, '/billing').length, 0);
});

test('rpc: any JSON passes through both ways; an empty method is omitted from the request', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = { json: { result: { data: [1, 'two', { three: null }] } } };
  const { backend, c, ctx } = await rpcSetup(t, { '/rpc': () => answer });
  assert.deepEqual(await c.rpc('echo', 'just a string'), { data: [1, 'two', { three: null }] });
  assert.equal(calls(backend, '/rpc')[0].body.data, 'just a string');

  // No method: routed to the without_namespace proxy, `method` left out.
  answer = { json: { result: { data: { ok: true } } } };
  assert.deepEqual(await c.rpc('', { x: 1 }), { data: { ok: true } });
  const req = calls(backend, '/rpc')[1];
  assert.deepEqual(req.body, { client: ctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '56', data: { x: 1 } }, req.raw);

  // A result without data: the SDK's data is undefined.
  answer = { json: { result: {} } };
  assert.deepEqual(await c.rpc('nothing', {}), { data: undefined });
});

test('rpc: bill:charge goes to the named proxy "billing" with the full method name', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, c, ctx } = await rpcSetup(t, {
    '/rpc': { json: { result: { data: { from: 'rpc' } } } },
    '/billing': { json: { result: { data: { charged: true } } } },
  });
  assert.deepEqual(await c.rpc('bill:charge', { amount: 5 }), { data: { charged: true } });
  assert.equal(calls(backend, '/rpc').length, 0);
  const [req] = calls(backend, '/billing');
  assert.deepEqual(req.body, {
    client: ctx.client,
    transport: 'websocket',
    protocol: 'json',
    encoding: 'json',
    user: '56',
    method: 'bill:charge',
    data: { amount: 5 },
  }, req.raw);
});

test('rpc: off:x → 108, unknown:x → 104, ping → empty result; none reaches the backend', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, c } = await rpcSetup(t, { '/rpc': { json: { result: { data: { no: 1 } } } } });
  const off = await rejection(c.rpc('off:x', {}));
  assert.deepEqual(off, { code: 108, message: 'not available', temporary: false });
  const unknown = await rejection(c.rpc('unknown:x', {}));
  assert.deepEqual(unknown, { code: 104, message: 'method not found', temporary: false });
  assert.deepEqual(await c.rpc('ping', {}), { data: undefined });
  assert.deepEqual(await c.rpc('ping'), { data: undefined });
  assert.equal(c.state, 'connected');
  assert.deepEqual(backend.requests.map((r) => r.path), ['/connect']);
});

test('rpc: backend errors are passed on (code, message, temporary); the connection stays', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = { json: { error: { code: 1000, message: 'custom' } } };
  const { c } = await rpcSetup(t, { '/rpc': () => answer });
  assert.deepEqual(await rejection(c.rpc('getPrice', {})), { code: 1000, message: 'custom', temporary: false });
  answer = { json: { error: { code: 1001, message: 'later', temporary: true } } };
  assert.deepEqual(await rejection(c.rpc('getPrice', {})), { code: 1001, message: 'later', temporary: true });
  // error wins over result
  answer = { json: { error: { code: 1002, message: 'both' }, result: { data: { x: 1 } } } };
  assert.deepEqual(await rejection(c.rpc('getPrice', {})), { code: 1002, message: 'both', temporary: false });
  assert.equal(c.state, 'connected');
  answer = { json: { result: { data: 'fine' } } };
  assert.deepEqual(await c.rpc('getPrice', {}), { data: 'fine' });
});

test('rpc: backend disconnect 4000 → the client is disconnected with 4000 "bye" and reconnects', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, c } = await rpcSetup(t, { '/rpc': { json: { disconnect: { code: 4000, reason: 'bye' } } } });
  const connecting = waitFor(c, 'connecting');
  const pending = rejection(c.rpc('getPrice', {}));
  assert.deepEqual(await connecting, { code: 4000, reason: 'bye' });
  const err = await pending;
  assert.equal(err.resolved, undefined, 'the rpc call must not succeed');
  await waitFor(c, 'connected', 5000);
  assert.equal(calls(backend, '/connect').length, 2, 'reconnected through the connect proxy');
});

test('rpc: backend disconnect 4500+ is terminal', { timeout: TEST_TIMEOUT }, async (t) => {
  const { c } = await rpcSetup(t, { '/rpc': { json: { disconnect: { code: 4503, reason: 'banned' } } } });
  const disconnected = waitFor(c, 'disconnected');
  c.rpc('getPrice', {}).catch(() => {});
  assert.deepEqual(await disconnected, { code: 4503, reason: 'banned' });
});

const RPC_FAILURES = [
  ['HTTP 500', '/rpc', { status: 500, json: { result: { data: 1 } } }],
  ['a body that is not JSON', '/rpc', { body: 'nope' }],
  ['the connection closed without an answer', '/rpc', { destroy: true }],
  ['no answer within the timeout (1s)', '/rpc', { delayMs: 1500, json: { result: { data: 1 } } }],
  ['no answer within the named proxy timeout (500ms)', '/billing', { delayMs: 800, json: { result: { data: 1 } } }],
];

for (const [what, path, failure] of RPC_FAILURES) {
  test(`rpc unexpected error: ${what} → 100; the connection stays`, { timeout: TEST_TIMEOUT }, async (t) => {
    let answer = failure;
    const { backend, gyre, c } = await rpcSetup(t, { [path]: () => answer });
    const method = path === '/billing' ? 'bill:charge' : 'getPrice';
    const started = Date.now();
    const err = await rejection(c.rpc(method, {}));
    const elapsed = Date.now() - started;
    assert.deepEqual(err, SDK_INTERNAL);
    if (failure.delayMs) {
      const limit = path === '/billing' ? 500 : 1000;
      assert.ok(elapsed >= limit - 100, `the ${limit} ms timeout fired after ${elapsed} ms`);
      assert.ok(elapsed < limit + 500, `the ${limit} ms timeout fired only after ${elapsed} ms`);
    }
    assert.equal(c.state, 'connected');
    assert.equal(calls(backend, path).length, 1);
    answer = { json: { result: { data: 'recovered' } } };
    assert.deepEqual(await c.rpc(method, {}), { data: 'recovered' });
    assert.equal((await gyre.api('info', {})).status, 200);
  });
}

test('rpc: each proxy has its own timeout (800 ms is fine for /rpc at 1s)', { timeout: TEST_TIMEOUT }, async (t) => {
  const { c } = await rpcSetup(t, { '/rpc': { delayMs: 800, json: { result: { data: 'slow but in time' } } } });
  assert.deepEqual(await c.rpc('getPrice', {}), { data: 'slow but in time' });
});

test('rpc unexpected error: connection refused → 100', { timeout: TEST_TIMEOUT }, async (t) => {
  const { c } = await rpcSetup(t, {}, { urls: { '/rpc': await refusedUrl('/rpc') } });
  assert.deepEqual(await rejection(c.rpc('getPrice', {})), SDK_INTERNAL);
  assert.equal(c.state, 'connected');
});

test('rpc: the connection\'s transport and emulated headers and static headers reach the RPC proxy', { timeout: TEST_TIMEOUT }, async (t) => {
  // Centrifugo keeps the upgrade request's headers and the connect frame's
  // emulated headers for the connection's whole life: every later proxy
  // call picks from them with its own allow-lists.
  const { backend, mk } = await setup(t, {
    routes: { '/connect': USER56, '/rpc': { json: { result: {} } } },
    config: {
      rpc: {
        proxy: {
          http_headers: ['X-Custom'],
          emulated_headers: ['X-Emulated'],
          http: { static_headers: { 'X-Rpc-Static': 'r1' } },
        },
      },
    },
  });
  const c = mk({
    websocket: wsWithHeaders({ 'X-Custom': 'tc', 'X-Other': 'o' }),
    headers: { 'X-Emulated': 'em', 'X-Secret': 'nope' },
  });
  await connectOk(c);
  await c.rpc('getPrice', {});
  await c.rpc('getPrice', {}); // still there on a later call
  const got = calls(backend, '/rpc').map((r) => ({
    custom: r.headers['x-custom'],
    emulated: r.headers['x-emulated'],
    rpcStatic: r.headers['x-rpc-static'],
    other: r.headers['x-other'],
    secret: r.headers['x-secret'],
    connectStatic: r.headers['x-static'],
  }));
  const want = { custom: 'tc', emulated: 'em', rpcStatic: 'r1', other: undefined, secret: undefined, connectStatic: undefined };
  assert.deepEqual(got, [want, want]);
});

test('rpc: transport headers reach the RPC proxy of a token connection (no connect proxy)', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const { backend, mk } = await setup(t, {
    base: false,
    routes: { '/rpc': { json: { result: {} } } },
    config: (b) => ({
      client: { token: key.config },
      rpc: {
        proxy: { endpoint: b.url('/rpc'), timeout: '1s', http_headers: ['Authorization'] },
        without_namespace: { proxy_enabled: true },
      },
    }),
  });
  const c = mk({ token: await mint({ sub: 'tok' }, key), websocket: wsWithHeaders({ Authorization: 'Bearer t' }) });
  await connectOk(c);
  await c.rpc('getPrice', {});
  const [req] = calls(backend, '/rpc');
  assert.equal(req.body.user, 'tok');
  assert.equal(req.headers.authorization, 'Bearer t');
});

test('rpc without any RPC proxy configured: 104 for every method', { timeout: TEST_TIMEOUT }, async (t) => {
  const { backend, mk } = await setup(t, {
    base: false,
    config: { client: { allow_anonymous_connect_without_token: true } },
  });
  const c = mk();
  await connectOk(c);
  for (const m of ['getPrice', 'bill:charge', 'off:x', 'ping', '']) {
    const err = await rejection(c.rpc(m, {}));
    assert.deepEqual(err, { code: 104, message: 'method not found', temporary: false }, `method ${JSON.stringify(m)}`);
  }
  assert.equal(c.state, 'connected');
  assert.equal(backend.requests.length, 0);
});

// ---------------------------------------------------------------------------
// status_to_code_transforms (§5.2)

test('status_to_code_transforms: an HTTP status becomes a connect disconnect or an RPC error', { timeout: TEST_TIMEOUT }, async (t) => {
  const { raw, mk } = await setup(t, {
    routes: {
      '/connect': (req) => (req.body?.data?.deny ? { status: 401, body: '' } : USER56),
      '/rpc': { status: 404, body: '' },
    },
    config: {
      client: {
        proxy: {
          connect: {
            http: { status_to_code_transforms: [{ status_code: 401, to_disconnect: { code: 4501, reason: 'unauthorized' } }] },
          },
        },
      },
      rpc: {
        proxy: { http: { status_to_code_transforms: [{ status_code: 404, to_error: { code: 404, message: 'no such thing' } }] } },
      },
    },
  });
  assert.deepEqual(await rawConnect(raw, { data: { deny: true } }), { closed: { code: 4501, reason: 'unauthorized' } });
  const c = mk();
  await connectOk(c);
  assert.deepEqual(await rejection(c.rpc('getPrice', {})), { code: 404, message: 'no such thing', temporary: false });
  assert.equal(c.state, 'connected');
});

// ---------------------------------------------------------------------------
// Bad config

// startGyre's rejection carries the process's stderr after this marker.
function stderrOf(err) {
  return err.message.split('--- stderr ---')[1] ?? '';
}

const BAD_CONFIGS = [
  ['connect proxy enabled with an empty endpoint', { client: { proxy: { connect: { endpoint: '' } } } }, [/endpoint/i]],
  ['connect proxy enabled without an endpoint', (c) => {
    delete c.client.proxy.connect.endpoint;
    return c;
  }, [/endpoint/i]],
  ['connect proxy timeout "0s"', { client: { proxy: { connect: { timeout: '0s' } } } }, [/timeout/i]],
  ['rpc proxy timeout "0s"', { rpc: { proxy: { timeout: '0s' } } }, [/timeout/i]],
  ['rpc proxy enabled without namespace but no endpoint', { rpc: { proxy: { endpoint: '' } } }, [/endpoint/i]],
  ['named proxy used by an RPC namespace with an empty endpoint', (c) => {
    c.proxies[0].endpoint = '';
    return c;
  }, [/endpoint/i]],
  ['named proxy used by an RPC namespace with timeout "0s"', (c) => {
    c.proxies[0].timeout = '0s';
    return c;
  }, [/timeout/i]],
  ['an RPC namespace naming a proxy that does not exist', (c) => {
    c.rpc.namespaces[0].proxy_name = 'nosuchproxy';
    return c;
  }, [/nosuchproxy/]],
  ['two named proxies with the same name', (c) => {
    c.proxies.push({ ...c.proxies[0] });
    return c;
  }, [/billing/]],
  ['a named proxy called "default"', (c) => {
    c.proxies.push({ name: 'default', endpoint: 'http://127.0.0.1:1/x' });
    return c;
  }, [/default/]],
  ['a named proxy with an invalid name', (c) => {
    c.proxies.push({ name: 'bad name!', endpoint: 'http://127.0.0.1:1/x' });
    return c;
  }, [/bad name!/]],
];

for (const [what, change, patterns] of BAD_CONFIGS) {
  test(`bad config refused at startup: ${what}`, { timeout: TEST_TIMEOUT }, async () => {
    const base = proxyConfig({ url: (p) => `http://127.0.0.1:1${p}` });
    const cfg = typeof change === 'function' ? change(structuredClone(base)) : deepMerge(base, change);
    let gyre;
    const err = await rejection(startGyre(cfg));
    if (err.resolved) {
      gyre = err.resolved;
      const out = gyre.stderr();
      await gyre.stop();
      assert.fail(`gyre started with the bad config; stderr:\n${out}`);
    }
    assert.match(err.message, /exited before accepting connections \(code 1,/, err.message);
    const stderr = stderrOf(err);
    for (const re of patterns) assert.match(stderr, re, `stderr should mention ${re}:\n${stderr}`);
  });
}

test('config: a disabled connect proxy needs no endpoint', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await startGyre({
    client: { allow_anonymous_connect_without_token: true, proxy: { connect: { enabled: false } } },
  });
  t.after(() => gyre.stop());
  const c = newCentrifuge(gyre.wsUrl);
  t.after(() => c.disconnect());
  await connectOk(c);
  // The connect proxy is off: a plain anonymous connect.
  assert.equal(c.state, 'connected');
});

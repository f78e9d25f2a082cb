// Subscribe proxy and publish proxy (server-api spec §2.4, §5.1–§5.5): Gyre
// asks the app's backend (lib/backend.js records every call and answers what
// the test says) whether a client may subscribe or publish, and the official
// centrifuge SDK (5.7.4) or a raw WebSocket sees the outcome.
//
// Subscribe: the exact request (body, key order, content type; data only when
// the client sent some; user "" for anonymous connections), result fields
// (info → presence chan_info, data → the subscribed context, override
// presence), the reject forms (error → unsubscribed for the SDK, disconnect),
// unexpected errors (non-200, bad JSON, dropped connection, timeout, refused)
// → 100 temporary with the SDK resubscribing, the permission order ($ gate
// before the proxy, namespaces without a proxy, named proxies), 30 concurrent
// subscribes through a slow backend.
// Publish: the exact request, result pass-through, edited data, skip_history,
// rejects, unexpected errors, no allow_publish_* flag needed, named proxies.
// Config validation: unusable channel proxies make gyre refuse to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { deepMerge, startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';
import { collect, newCentrifuge, waitFor } from './lib/client.js';
import { refusedUrl, startBackend } from './lib/backend.js';

const TEST_TIMEOUT = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Error 100 as the raw reply carries it and as the SDK reports it.
const INTERNAL = { code: 100, message: 'internal server error', temporary: true };
const OK = { json: { result: {} } };

// The connect proxy gives every connection a user: data.user, "56" by
// default; data.anon → no credentials → anonymous (allowed by the config).
function connectAnswer(req) {
  if (req.body?.data?.anon) return { json: {} };
  return { json: { result: { user: req.body?.data?.user ?? '56' } } };
}

// The config under test, every endpoint on `backend` (or on `urls[path]`).
function proxyConfig(backend, urls = {}) {
  const at = (p) => urls[p] ?? backend.url(p);
  return {
    client: {
      allow_anonymous_connect_without_token: true,
      proxy: { connect: { enabled: true, endpoint: at('/connect'), timeout: '1s' } },
    },
    channel: {
      proxy: {
        subscribe: { endpoint: at('/subscribe'), timeout: '1s' },
        publish: { endpoint: at('/publish'), timeout: '1s' },
      },
      without_namespace: {
        subscribe_proxy_enabled: true,
        publish_proxy_enabled: true,
        history_size: 10,
        history_ttl: '300s',
      },
      namespaces: [
        {
          name: 'named',
          subscribe_proxy_enabled: true,
          subscribe_proxy_name: 'other',
          publish_proxy_enabled: true,
          publish_proxy_name: 'other',
        },
        { name: 'plain', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true },
        { name: 'pres', presence: true, subscribe_proxy_enabled: true },
      ],
    },
    proxies: [{ name: 'other', endpoint: at('/other'), timeout: '1s' }],
  };
}

// A handler answering by path: routes[path] is an answer or a function
// (req) => answer. Unrouted paths get a 404 (an unexpected error).
function route(routes) {
  return (req) => {
    const r = routes[req.path];
    if (r === undefined) return { status: 404, body: `no route for ${req.path}` };
    return typeof r === 'function' ? r(req) : r;
  };
}

// A backend plus a gyre using it, torn down after the test. opts:
//   routes  answers by path, merged over {/connect: connectAnswer}
//   config  merged over proxyConfig(backend, urls)   (objects merge, arrays replace)
//   urls    endpoint overrides by path (e.g. a refused URL)
// Returns {backend, gyre, mk(opts), raw(opts)}: SDK clients reconnect fast
// and, like raw sockets, are closed when the test ends.
async function setup(t, { routes = {}, config = {}, urls = {} } = {}) {
  const backend = await startBackend(route({ '/connect': connectAnswer, ...routes }));
  const clients = [];
  const raws = [];
  let gyre = null;
  t.after(async () => {
    for (const c of clients) c.disconnect();
    for (const w of raws) w.terminate();
    if (gyre) await gyre.stop();
    await backend.close();
  });
  gyre = await startGyre(deepMerge(proxyConfig(backend, urls), config));
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

async function rejection(promise) {
  try {
    const v = await promise;
    return { resolved: v };
  } catch (e) {
    return e;
  }
}

// Connects an SDK client; resolves with the `connected` context, rejects
// early when it ends disconnected instead.
async function connectOk(c, timeoutMs = 5000) {
  const failed = new Promise((_, reject) =>
    c.once('disconnected', (ctx) => reject(new Error(`disconnected instead: ${ctx.code} ${ctx.reason}`))),
  );
  const connected = waitFor(c, 'connected', timeoutMs);
  c.connect();
  return Promise.race([connected, failed]);
}

// A connected client (user 56 unless clientOpts.data says otherwise) and its
// connected context.
async function connected(s, clientOpts = {}) {
  const c = s.mk(clientOpts);
  const ctx = await connectOk(c);
  return { c, ctx };
}

// Subscribes `sub` and resolves with the `subscribed` context; rejects early
// with the code when it ends unsubscribed instead.
async function subscribeOk(sub, timeoutMs = 5000) {
  const failed = new Promise((_, reject) =>
    sub.once('unsubscribed', (ctx) => reject(new Error(`unsubscribed instead: ${ctx.code} ${ctx.reason}`))),
  );
  const subscribed = waitFor(sub, 'subscribed', timeoutMs);
  sub.subscribe();
  try {
    return await Promise.race([subscribed, failed]);
  } finally {
    failed.catch(() => {});
  }
}

// Subscriptions retry fast when told to.
const FAST_RESUB = { minResubscribeDelay: 100, maxResubscribeDelay: 300 };

// A raw socket, connected (through the connect proxy, user 56); returns
// {ws, client, cmd(obj)}: cmd sends one command with the next id and
// resolves with its reply (pushes skipped), or {closed} when the server
// closes the socket first.
async function rawSession(s) {
  const ws = await s.raw();
  let id = 0;
  const cmd = async (body, timeoutMs = 5000) => {
    id += 1;
    const want = id;
    ws.sendJson({ id: want, ...body });
    try {
      for (;;) {
        const m = await ws.nextJson(timeoutMs);
        if (m.id === want) return m;
      }
    } catch (e) {
      if (ws.closeInfo) return { closed: ws.closeInfo };
      throw e;
    }
  };
  const reply = await cmd({ connect: {} });
  assert.ok(reply.connect, JSON.stringify(reply));
  return { ws, client: reply.connect.client, cmd };
}

// The backend requests to `path` so far.
const calls = (backend, path) => backend.requestsTo({ path });

const COMMON_KEYS = ['client', 'transport', 'protocol', 'encoding', 'user'];

// ---------------------------------------------------------------------------
// Config

test('config: the channel proxy sections are known keys and gyre starts with them', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const r = await gyre.api('info', {});
  assert.equal(r.status, 200, r.text);
  const warnings = gyre.stderr().match(/unknown key \S+/g) ?? [];
  assert.deepEqual(warnings, [], `unexpected config warnings:\n${gyre.stderr()}`);
});

// ---------------------------------------------------------------------------
// Subscribe: request

test('subscribe: POST /subscribe with exactly client, transport, protocol, encoding, user, channel, data', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': OK } });
  const { c, ctx } = await connected(s);
  const sub = c.newSubscription('news', { data: { token: 'abc', n: [1, 2] } });
  await subscribeOk(sub);
  const reqs = calls(s.backend, '/subscribe');
  assert.equal(reqs.length, 1, 'exactly one subscribe call');
  const [req] = reqs;
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'] ?? '', /^application\/json\b/);
  assert.deepEqual(req.body, {
    client: ctx.client,
    transport: 'websocket',
    protocol: 'json',
    encoding: 'json',
    user: '56',
    channel: 'news',
    data: { token: 'abc', n: [1, 2] },
  }, req.raw);
  // Go struct order (spec §5.4).
  assert.deepEqual(Object.keys(req.body), [...COMMON_KEYS, 'channel', 'data'], req.raw);
  assert.equal(calls(s.backend, '/other').length, 0);
  assert.equal(calls(s.backend, '/publish').length, 0);
});

test('subscribe: no data option → no data key; an anonymous connection sends user ""', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': OK } });
  const { c, ctx } = await connected(s);
  await subscribeOk(c.newSubscription('news'));
  const [req] = calls(s.backend, '/subscribe');
  assert.deepEqual(req.body, {
    client: ctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '56', channel: 'news',
  }, req.raw);

  const anon = await connected(s, { data: { anon: true } });
  await subscribeOk(anon.c.newSubscription('news'));
  const req2 = calls(s.backend, '/subscribe')[1];
  assert.ok(req2, 'a second subscribe call');
  assert.deepEqual(req2.body, {
    client: anon.ctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '', channel: 'news',
  }, req2.raw);
});

// ---------------------------------------------------------------------------
// Subscribe: results

test('subscribe result: {"result":{}} and {} both subscribe; publications then reach the client', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = OK;
  const s = await setup(t, { routes: { '/subscribe': () => answer } });
  const { c } = await connected(s);
  const a = c.newSubscription('news');
  const actx = await subscribeOk(a);
  assert.equal(actx.channel, 'news');
  assert.equal(actx.data, undefined);

  answer = { json: {} };
  const b = c.newSubscription('sports');
  await subscribeOk(b);
  assert.equal(calls(s.backend, '/subscribe').length, 2);

  const pubs = collect(b, 'publication');
  const r = await s.gyre.api('publish', { channel: 'sports', data: { goal: 1 } });
  assert.equal(r.status, 200, r.text);
  await pubs.waitForCount(1);
  assert.deepEqual(pubs[0].data, { goal: 1 });
});

test('subscribe result: info and data → ctx.data in subscribed, chan_info in presence', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': { json: { result: { info: { x: 1 }, data: { d: 2 } } } } } });
  const { c, ctx } = await connected(s);
  const sctx = await subscribeOk(c.newSubscription('pres:room'));
  assert.deepEqual(sctx.data, { d: 2 });
  const [req] = calls(s.backend, '/subscribe');
  assert.equal(req.body?.channel, 'pres:room', req.raw);
  const p = await s.gyre.api('presence', { channel: 'pres:room' });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, {
    result: { presence: { [ctx.client]: { client: ctx.client, user: '56', chan_info: { x: 1 } } } },
  }, p.text);

  // The raw reply carries the data too.
  const raw = await rawSession(s);
  const reply = await raw.cmd({ subscribe: { channel: 'pres:room' } });
  assert.deepEqual(reply.subscribe?.data, { d: 2 }, JSON.stringify(reply));
});

test('subscribe result: override presence false hides the subscription from presence', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, {
    routes: {
      '/subscribe': (req) =>
        req.body?.user === 'hidden' ? { json: { result: { override: { presence: { value: false } } } } } : OK,
    },
  });
  const hidden = await connected(s, { data: { user: 'hidden' } });
  await subscribeOk(hidden.c.newSubscription('pres:room'));
  const shown = await connected(s, { data: { user: 'shown' } });
  await subscribeOk(shown.c.newSubscription('pres:room'));
  const p = await s.gyre.api('presence', { channel: 'pres:room' });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, {
    result: { presence: { [shown.ctx.client]: { client: shown.ctx.client, user: 'shown' } } },
  }, p.text);
});

test('subscribe result: override presence true on a namespace without presence → subscribed', { timeout: TEST_TIMEOUT }, async (t) => {
  // Centrifugo records presence for such a subscription, but both the
  // server API and the client's presence call look at the namespace's
  // `presence` option first and answer 108 (spec §1.5, §2.4): the
  // subscription works and presence stays unreadable.
  const s = await setup(t, { routes: { '/subscribe': { json: { result: { override: { presence: { value: true } } } } } } });
  const { c } = await connected(s);
  await subscribeOk(c.newSubscription('news'));
  const p = await s.gyre.api('presence', { channel: 'news' });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, { error: { code: 108, message: 'not available' } }, p.text);
  assert.equal(c.state, 'connected');
});

// ---------------------------------------------------------------------------
// Subscribe: rejects

test('subscribe reject: error 403 → subscribe error 403; the SDK ends unsubscribed and does not retry', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': { json: { error: { code: 403, message: 'forbidden' } } } } });
  // The exact reply.
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: 'news' } }), { id: 2, error: { code: 403, message: 'forbidden' } });

  // centrifuge-js: a non-temporary subscribe error >= 100 unsubscribes with
  // the error's code and message.
  const { c } = await connected(s);
  const sub = c.newSubscription('news', FAST_RESUB);
  const unsubscribed = waitFor(sub, 'unsubscribed');
  sub.subscribe();
  assert.deepEqual(await unsubscribed, { channel: 'news', code: 403, reason: 'forbidden' });
  assert.equal(sub.state, 'unsubscribed');
  await sleep(600);
  assert.equal(calls(s.backend, '/subscribe').length, 2, 'one raw and one SDK call, no retry');
  assert.equal(c.state, 'connected');
});

test('subscribe reject: a temporary error is passed on and the SDK retries', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = { json: { error: { code: 1001, message: 'later', temporary: true } } };
  const s = await setup(t, { routes: { '/subscribe': () => answer } });
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: 'news' } }), {
    id: 2, error: { code: 1001, message: 'later', temporary: true },
  });
  const { c } = await connected(s);
  const sub = c.newSubscription('news', FAST_RESUB);
  const errors = collect(sub, 'error');
  sub.subscribe();
  await errors.waitForCount(2, 5000);
  assert.deepEqual(errors[0], { channel: 'news', type: 'subscribe', error: { code: 1001, message: 'later', temporary: true } });
  const subscribed = waitFor(sub, 'subscribed', 5000);
  answer = OK;
  await subscribed;
});

test('subscribe reject: disconnect 4501 → the client is disconnected with 4501 "x"', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': { json: { disconnect: { code: 4501, reason: 'x' } } } } });
  const { c } = await connected(s);
  const disconnected = waitFor(c, 'disconnected');
  c.newSubscription('news').subscribe();
  assert.deepEqual(await disconnected, { code: 4501, reason: 'x' });
  await sleep(500);
  assert.equal(c.state, 'disconnected');
  assert.equal(calls(s.backend, '/connect').length, 1, 'terminal: no reconnect');

  // On the wire: the socket is closed with that code and reason.
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: 'news' } }), { closed: { code: 4501, reason: 'x' } });
});

test('subscribe reject: precedence disconnect > error > result', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer;
  const s = await setup(t, { routes: { '/subscribe': () => answer } });
  answer = { json: { result: {}, error: { code: 403, message: 'forbidden' }, disconnect: { code: 4502, reason: 'go' } } };
  const r1 = await rawSession(s);
  assert.deepEqual(await r1.cmd({ subscribe: { channel: 'news' } }), { closed: { code: 4502, reason: 'go' } });
  answer = { json: { result: {}, error: { code: 403, message: 'forbidden' } } };
  const r2 = await rawSession(s);
  assert.deepEqual(await r2.cmd({ subscribe: { channel: 'news' } }), { id: 2, error: { code: 403, message: 'forbidden' } });
});

// ---------------------------------------------------------------------------
// Subscribe: unexpected errors

const SUBSCRIBE_FAILURES = [
  ['HTTP 500', { status: 500, json: { result: {} } }],
  ['a body that is not JSON', { body: 'this is not json' }],
  ['the connection closed without an answer', { destroy: true }],
  ['no answer within the timeout (1s)', { delayMs: 1500, json: { result: {} } }],
];

for (const [what, failure] of SUBSCRIBE_FAILURES) {
  test(`subscribe unexpected error: ${what} → 100 temporary; the SDK resubscribes and gets in once the backend recovers`, { timeout: TEST_TIMEOUT }, async (t) => {
    let answer = failure;
    const s = await setup(t, { routes: { '/subscribe': () => answer } });

    const raw = await rawSession(s);
    const started = Date.now();
    const reply = await raw.cmd({ subscribe: { channel: 'news' } });
    const elapsed = Date.now() - started;
    assert.deepEqual(reply, { id: 2, error: INTERNAL });
    if (failure.delayMs) {
      assert.ok(elapsed >= 900, `the timeout fired after ${elapsed} ms, before 1s`);
      assert.ok(elapsed < 1500, `the 1s timeout fired only after ${elapsed} ms`);
    }

    const { c } = await connected(s);
    const sub = c.newSubscription('news', FAST_RESUB);
    const errors = collect(sub, 'error');
    sub.subscribe();
    await errors.waitForCount(1, 5000);
    assert.deepEqual(errors[0], { channel: 'news', type: 'subscribe', error: INTERNAL });
    // The SDK tries again: a further request reaches the backend.
    await s.backend.waitForRequests(3, { path: '/subscribe' }, 5000);
    assert.equal(sub.state, 'subscribing');
    assert.equal(c.state, 'connected');

    const subscribed = waitFor(sub, 'subscribed', 8000);
    answer = OK;
    await subscribed;
    assert.equal(sub.state, 'subscribed');
    assert.equal((await s.gyre.api('info', {})).status, 200);
  });
}

test('subscribe unexpected error: connection refused → 100 temporary; the SDK keeps retrying', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { urls: { '/subscribe': await refusedUrl('/subscribe') } });
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: 'news' } }), { id: 2, error: INTERNAL });
  const { c } = await connected(s);
  const sub = c.newSubscription('news', FAST_RESUB);
  const errors = collect(sub, 'error');
  sub.subscribe();
  await errors.waitForCount(2, 5000);
  for (const e of errors.slice(0, 2)) assert.deepEqual(e, { channel: 'news', type: 'subscribe', error: INTERNAL });
  assert.equal(sub.state, 'subscribing');
  assert.equal(c.state, 'connected');
});

// ---------------------------------------------------------------------------
// Subscribe: permission order

test('permission order: $x without a token → 103 before the proxy is asked', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': OK } });
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: '$x' } }), { id: 2, error: { code: 103, message: 'permission denied' } });
  const { c } = await connected(s);
  const sub = c.newSubscription('$x');
  const unsubscribed = waitFor(sub, 'unsubscribed');
  sub.subscribe();
  assert.deepEqual(await unsubscribed, { channel: '$x', code: 103, reason: 'permission denied' });
  await sleep(200);
  assert.equal(calls(s.backend, '/subscribe').length, 0, 'the subscribe proxy was called for $x');
  assert.equal(calls(s.backend, '/other').length, 0);
});

test('permission order: the plain namespace (no proxy) subscribes without calling the backend', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': { json: { error: { code: 403, message: 'forbidden' } } } } });
  const { c } = await connected(s);
  await subscribeOk(c.newSubscription('plain:x'));
  const anon = await connected(s, { data: { anon: true } });
  await subscribeOk(anon.c.newSubscription('plain:y'));
  assert.deepEqual(s.backend.requests.map((r) => r.path), ['/connect', '/connect']);
});

test('permission order: an unknown namespace → 102, the backend is not asked', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': OK } });
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ subscribe: { channel: 'nope:x' } }), { id: 2, error: { code: 102, message: 'unknown channel' } });
  assert.equal(calls(s.backend, '/subscribe').length, 0);
});

test('named proxy: named:x subscribe goes to /other with the full channel name', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, {
    routes: { '/subscribe': { json: { error: { code: 403, message: 'wrong proxy' } } }, '/other': { json: { result: { data: { via: 'other' } } } } },
  });
  const { c, ctx } = await connected(s);
  const sctx = await subscribeOk(c.newSubscription('named:x'));
  assert.deepEqual(sctx.data, { via: 'other' });
  assert.equal(calls(s.backend, '/subscribe').length, 0);
  const [req] = calls(s.backend, '/other');
  assert.deepEqual(req.body, {
    client: ctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '56', channel: 'named:x',
  }, req.raw);
});

// ---------------------------------------------------------------------------
// Subscribe: concurrency

test('subscribe: 30 clients at once through a backend that takes 300 ms all get subscribed', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await setup(t, { routes: { '/subscribe': { delayMs: 300, json: { result: {} } } } });
  const N = 30;
  const clients = await Promise.all(Array.from({ length: N }, (_, i) => connected(s, { data: { user: `u${i}` } })));
  const subs = clients.map(({ c }) => c.newSubscription('news'));
  const started = Date.now();
  await Promise.all(subs.map((sub) => subscribeOk(sub, 15000)));
  const elapsed = Date.now() - started;
  // One after the other would take N × 300 ms = 9 s.
  assert.ok(elapsed < 5000, `30 subscribes took ${elapsed} ms`);
  assert.ok(s.backend.maxInFlight >= 5, `at most ${s.backend.maxInFlight} proxy calls were in flight at once`);
  assert.equal(calls(s.backend, '/subscribe').length, N);
  const users = calls(s.backend, '/subscribe').map((r) => r.body?.user).sort();
  assert.deepEqual(users, Array.from({ length: N }, (_, i) => `u${i}`).sort());
  // Everyone gets a publication.
  const got = subs.map((sub) => collect(sub, 'publication'));
  const r = await s.gyre.api('publish', { channel: 'news', data: { all: true } });
  assert.equal(r.status, 200, r.text);
  await Promise.all(got.map((g) => g.waitForCount(1, 5000)));
});

// ---------------------------------------------------------------------------
// Publish

// A subscriber on `channel` (subscribe proxy says yes) and a separate
// publisher; returns {sub, pubs (the subscriber's publications), pc (the
// publisher), pctx}.
async function pubSetup(t, publishRoute, { channel = 'news', routes = {}, ...more } = {}) {
  const s = await setup(t, { routes: { '/subscribe': OK, '/other': OK, '/publish': publishRoute, ...routes }, ...more });
  const subscriber = await connected(s, { data: { user: 'reader' } });
  const sub = subscriber.c.newSubscription(channel);
  await subscribeOk(sub);
  const pubs = collect(sub, 'publication');
  const { c: pc, ctx: pctx } = await connected(s);
  return { ...s, sub, pubs, pc, pctx };
}

test('publish: POST /publish with exactly client, transport, protocol, encoding, user, channel, data; delivered with an offset', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, OK);
  assert.deepEqual(await s.pc.publish('news', { input: 'hello' }), {});
  const reqs = calls(s.backend, '/publish');
  assert.equal(reqs.length, 1);
  const [req] = reqs;
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'] ?? '', /^application\/json\b/);
  assert.deepEqual(req.body, {
    client: s.pctx.client,
    transport: 'websocket',
    protocol: 'json',
    encoding: 'json',
    user: '56',
    channel: 'news',
    data: { input: 'hello' },
  }, req.raw);
  assert.deepEqual(Object.keys(req.body), [...COMMON_KEYS, 'channel', 'data'], req.raw);
  await s.pubs.waitForCount(1);
  assert.deepEqual(s.pubs[0].data, { input: 'hello' });
  assert.equal(s.pubs[0].offset, 1, JSON.stringify(s.pubs[0]));
  // The publisher's client info is attached.
  assert.equal(s.pubs[0].info?.client, s.pctx.client, JSON.stringify(s.pubs[0]));
  assert.equal(s.pubs[0].info?.user, '56', JSON.stringify(s.pubs[0]));
  // And it is in history.
  const h = await s.gyre.api('history', { channel: 'news', limit: -1 });
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json?.result?.offset, 1, h.text);
  assert.deepEqual(h.json.result.publications.map((p) => p.data), [{ input: 'hello' }], h.text);
});

test('publish: sub.publish from a subscribed client goes through the proxy too', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, OK);
  const own = s.pc.newSubscription('news');
  await subscribeOk(own);
  const mine = collect(own, 'publication');
  await own.publish({ input: 'hello' });
  const [req] = calls(s.backend, '/publish');
  assert.ok(req, 'a publish call');
  assert.deepEqual(req.body, {
    client: s.pctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '56', channel: 'news', data: { input: 'hello' },
  }, req.raw);
  await s.pubs.waitForCount(1);
  await mine.waitForCount(1);
  assert.deepEqual(mine[0].data, { input: 'hello' });
});

test('publish result: data replaces the payload for subscribers and history', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, { json: { result: { data: { input: 'hello (edited)' } } } });
  await s.pc.publish('news', { input: 'hello' });
  await s.pubs.waitForCount(1);
  assert.deepEqual(s.pubs[0].data, { input: 'hello (edited)' });
  assert.equal(s.pubs[0].offset, 1);
  const h = await s.gyre.api('history', { channel: 'news', limit: -1 });
  assert.deepEqual(h.json?.result?.publications?.map((p) => p.data), [{ input: 'hello (edited)' }], h.text);
});

test('publish result: skip_history → delivered without an offset, history unchanged', { timeout: TEST_TIMEOUT }, async (t) => {
  let answer = OK;
  const s = await pubSetup(t, () => answer);
  await s.pc.publish('news', { n: 1 }); // one in history first
  await s.pubs.waitForCount(1);
  assert.equal(s.pubs[0].offset, 1);
  const before = await s.gyre.api('history', { channel: 'news' });
  assert.equal(before.json?.result?.offset, 1, before.text);

  // A raw subscriber too, to see the push exactly.
  const raw = await rawSession(s);
  const sr = await raw.cmd({ subscribe: { channel: 'news' } });
  assert.ok(sr.subscribe, JSON.stringify(sr));

  answer = { json: { result: { skip_history: true } } };
  await s.pc.publish('news', { n: 2 });
  await s.pubs.waitForCount(2);
  assert.deepEqual(s.pubs[1].data, { n: 2 });
  assert.equal(s.pubs[1].offset, undefined, JSON.stringify(s.pubs[1]));
  let push;
  do push = await raw.ws.nextJson(5000);
  while (!push.push?.pub);
  assert.equal(push.push.channel, 'news', JSON.stringify(push));
  assert.deepEqual(push.push.pub.data, { n: 2 }, JSON.stringify(push));
  assert.equal('offset' in push.push.pub, false, `a skip_history publication carries an offset: ${JSON.stringify(push)}`);
  const after = await s.gyre.api('history', { channel: 'news', limit: -1 });
  assert.equal(after.json?.result?.offset, 1, after.text);
  assert.equal(after.json.result.epoch, before.json.result.epoch, after.text);
  assert.deepEqual(after.json.result.publications.map((p) => p.data), [{ n: 1 }], after.text);
});

test('publish reject: error 403 → the publish is rejected with 403; nothing is delivered', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, { json: { error: { code: 403, message: 'forbidden' } } });
  assert.deepEqual(await rejection(s.pc.publish('news', { input: 'hello' })), { code: 403, message: 'forbidden', temporary: false });
  assert.equal(s.pc.state, 'connected');
  await sleep(300);
  assert.equal(s.pubs.length, 0);
  const h = await s.gyre.api('history', { channel: 'news' });
  assert.equal(h.json?.result?.offset, 0, h.text);
  // The exact reply.
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ publish: { channel: 'news', data: { a: 1 } } }), { id: 2, error: { code: 403, message: 'forbidden' } });
});

test('publish reject: disconnect → the publisher is disconnected with the code and reason', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, { json: { disconnect: { code: 4502, reason: 'bye' } } });
  const disconnected = waitFor(s.pc, 'disconnected');
  s.pc.publish('news', { input: 'hello' }).catch(() => {});
  assert.deepEqual(await disconnected, { code: 4502, reason: 'bye' });
  await sleep(300);
  assert.equal(s.pubs.length, 0);
  const raw = await rawSession(s);
  assert.deepEqual(await raw.cmd({ publish: { channel: 'news', data: { a: 1 } } }), { closed: { code: 4502, reason: 'bye' } });
});

const PUBLISH_FAILURES = [
  ['HTTP 500', { status: 500, json: { result: {} } }],
  ['a body that is not JSON', { body: 'nope' }],
  ['no answer within the timeout (1s)', { delayMs: 1500, json: { result: {} } }],
];

for (const [what, failure] of PUBLISH_FAILURES) {
  test(`publish unexpected error: ${what} → 100; nothing delivered; the connection stays`, { timeout: TEST_TIMEOUT }, async (t) => {
    let answer = failure;
    const s = await pubSetup(t, () => answer);
    assert.deepEqual(await rejection(s.pc.publish('news', { input: 'hello' })), INTERNAL);
    assert.equal(s.pc.state, 'connected');
    assert.equal(calls(s.backend, '/publish').length, 1);
    answer = OK;
    await s.pc.publish('news', { input: 'again' });
    await s.pubs.waitForCount(1);
    assert.deepEqual(s.pubs.map((p) => p.data), [{ input: 'again' }]);
  });
}

test('publish unexpected error: connection refused → 100', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, OK, { urls: { '/publish': await refusedUrl('/publish') } });
  assert.deepEqual(await rejection(s.pc.publish('news', { input: 'hello' })), INTERNAL);
  assert.equal(s.pc.state, 'connected');
});

test('publish: the proxy decides without allow_publish_for_client; without a proxy the same publish is 103', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, OK);
  // news: no allow_publish_* flag, the proxy says yes.
  assert.deepEqual(await s.pc.publish('news', { ok: 1 }), {});
  await s.pubs.waitForCount(1);
  // plain: no publish proxy and no flag → permission denied, backend not asked.
  const before = calls(s.backend, '/publish').length;
  assert.deepEqual(await rejection(s.pc.publish('plain:x', { ok: 2 })), { code: 103, message: 'permission denied', temporary: false });
  assert.equal(calls(s.backend, '/publish').length, before);
});

test('named proxy: named:x publish goes to /other', { timeout: TEST_TIMEOUT }, async (t) => {
  const s = await pubSetup(t, { json: { error: { code: 403, message: 'wrong proxy' } } }, {
    channel: 'named:x',
    routes: { '/other': (req) => (req.path === '/other' && req.body?.data ? { json: { result: { data: { via: 'other' } } } } : OK) },
  });
  await s.pc.publish('named:x', { input: 'hello' });
  await s.pubs.waitForCount(1);
  assert.deepEqual(s.pubs[0].data, { via: 'other' });
  assert.equal(calls(s.backend, '/publish').length, 0);
  assert.equal(calls(s.backend, '/subscribe').length, 0);
  const otherPublish = calls(s.backend, '/other').filter((r) => r.body?.data !== undefined);
  assert.equal(otherPublish.length, 1);
  assert.deepEqual(otherPublish[0].body, {
    client: s.pctx.client, transport: 'websocket', protocol: 'json', encoding: 'json', user: '56', channel: 'named:x', data: { input: 'hello' },
  }, otherPublish[0].raw);
  // The subscribe went to /other as well (the subscriber, user reader).
  assert.ok(calls(s.backend, '/other').some((r) => r.body?.user === 'reader' && r.body?.data === undefined));
});

// ---------------------------------------------------------------------------
// Bad config

function stderrOf(err) {
  return err.message.split('--- stderr ---')[1] ?? '';
}

const BAD_CONFIGS = [
  ['subscribe_proxy_enabled with no channel.proxy.subscribe', (c) => {
    delete c.channel.proxy.subscribe;
    return c;
  }, [/proxy\.subscribe|subscribe_proxy/]],
  ['publish_proxy_enabled with no channel.proxy.publish', (c) => {
    delete c.channel.proxy.publish;
    return c;
  }, [/proxy\.publish|publish_proxy/]],
  ['subscribe_proxy_name "nosuch"', (c) => {
    c.channel.namespaces[0].subscribe_proxy_name = 'nosuch';
    return c;
  }, [/nosuch/]],
  ['publish_proxy_name "nosuch2"', (c) => {
    c.channel.namespaces[0].publish_proxy_name = 'nosuch2';
    return c;
  }, [/nosuch2/]],
  ['channel.proxy.publish with an empty endpoint', (c) => {
    c.channel.proxy.publish.endpoint = '';
    return c;
  }, [/publish/, /endpoint/]],
  ['the named proxy used by channel namespaces with an empty endpoint', (c) => {
    c.proxies[0].endpoint = '';
    return c;
  }, [/proxies|other/, /endpoint/]],
  ['channel.proxy.subscribe with timeout "0s"', (c) => {
    c.channel.proxy.subscribe.timeout = '0s';
    return c;
  }, [/subscribe/, /timeout/]],
];

for (const [what, change, patterns] of BAD_CONFIGS) {
  test(`bad config refused at startup: ${what}`, { timeout: TEST_TIMEOUT }, async () => {
    const base = proxyConfig({ url: (p) => `http://127.0.0.1:1${p}` });
    const cfg = change(structuredClone(base));
    const err = await rejection(startGyre(cfg));
    if (err.resolved) {
      const gyre = err.resolved;
      const out = gyre.stderr();
      await gyre.stop();
      assert.fail(`gyre started with the bad config; stderr:\n${out}`);
    }
    assert.match(err.message, /exited before accepting connections \(code 1,/, err.message);
    const stderr = stderrOf(err);
    for (const re of patterns) assert.match(stderr, re, `stderr should mention ${re}:\n${stderr}`);
  });
}

test('config: an unused channel proxy section needs no namespace; no proxy enabled → plain permission rules', { timeout: TEST_TIMEOUT }, async (t) => {
  const backend = await startBackend();
  t.after(() => backend.close());
  const gyre = await startGyre({
    client: { allow_anonymous_connect_without_token: true },
    channel: {
      proxy: { subscribe: { endpoint: backend.url('/subscribe'), timeout: '1s' } },
      without_namespace: { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true },
    },
  });
  t.after(() => gyre.stop());
  const c = newCentrifuge(gyre.wsUrl);
  t.after(() => c.disconnect());
  await connectOk(c);
  await subscribeOk(c.newSubscription('news'));
  assert.equal(backend.requests.length, 0);
});

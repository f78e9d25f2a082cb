// Connection meta and binary_encoding (server-api spec §5.2-§5.4, §4.2).
//
// Meta: a JSON object that the
// connect proxy's result or the connection token's `meta` claim gives a
// connection, that a refresh result replaces, that clients never see, and
// that proxies with include_connection_meta get in every request.
//
// What is checked: the rpc, subscribe and publish proxies with
// include_connection_meta get exactly the connect result's meta (last
// field), proxies without it get none; the client's connect reply and
// presence carry no meta; a refresh proxy answer replaces it (and a refresh
// without meta keeps it); the JWT meta claim reaches the proxies too; a
// connection without meta sends none.
//
// binary_encoding: requests say "encoding":"binary" and carry the client's
// payload as base64 b64data; answers' b64data (binary or not) reaches the
// client decoded; bytes that are not JSON are error 100 for a JSON client.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor, waitUntil } from './lib/client.js';
import { keyFor, mint } from './lib/jwt.js';
import { startBackend } from './lib/backend.js';

const TEST_TIMEOUT = 30_000;
const META = { plan: 'pro', limits: { rps: 10 } };

// /connect gives user 56 the meta the client asks for in its connect data
// (none when it asks for none); the other paths allow and echo.
function handler(req) {
  if (req.path === '/connect') {
    const result = { user: '56', info: { name: 'sam' } };
    if (req.body?.data?.meta !== undefined) result.meta = req.body.data.meta;
    if (req.body?.data?.expireIn) result.expire_at = inSeconds(req.body.data.expireIn);
    return { json: { result } };
  }
  if (req.path === '/refresh') return { json: { result: refreshAnswer() } };
  if (req.path === '/rpc' || req.path === '/rpc_plain') return { json: { result: { data: { ok: true } } } };
  return { json: { result: {} } };
}
const inSeconds = (s) => Math.floor(Date.now() / 1000) + s;
const DEFAULT_REFRESH = () => ({ expire_at: inSeconds(3600) });
let refreshAnswer = DEFAULT_REFRESH;

function config(b, extra = {}) {
  return {
    client: {
      allow_anonymous_connect_without_token: true,
      proxy: {
        connect: { enabled: true, endpoint: b.url('/connect'), timeout: '1s' },
        ...(extra.refresh ? { refresh: { enabled: true, endpoint: b.url('/refresh'), timeout: '1s', include_connection_meta: true } } : {}),
      },
      ...extra.client,
    },
    channel: {
      proxy: {
        subscribe: { endpoint: b.url('/subscribe'), timeout: '1s', include_connection_meta: true },
        publish: { endpoint: b.url('/publish'), timeout: '1s' },
      },
      without_namespace: { subscribe_proxy_enabled: true, publish_proxy_enabled: true, presence: true, allow_presence_for_subscriber: true },
      namespaces: [{ name: 'mm', publish_proxy_enabled: true, publish_proxy_name: 'pubmeta', allow_subscribe_for_client: true }],
    },
    proxies: [
      { name: 'pubmeta', endpoint: b.url('/publish_meta'), timeout: '1s', include_connection_meta: true },
      { name: 'plain', endpoint: b.url('/rpc_plain'), timeout: '1s' },
    ],
    rpc: {
      proxy: { endpoint: b.url('/rpc'), timeout: '1s', include_connection_meta: true },
      without_namespace: { proxy_enabled: true },
      namespaces: [{ name: 'plain', proxy_enabled: true, proxy_name: 'plain' }],
    },
  };
}

async function setup(t, extra) {
  const b = await startBackend(handler);
  const gyre = await startGyre(config(b, extra));
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await gyre.stop();
    await b.close();
    refreshAnswer = DEFAULT_REFRESH;
  });
  const connected = async (opts = {}) => {
    const c = newCentrifuge(gyre.wsUrl, { minReconnectDelay: 100, maxReconnectDelay: 300, ...opts });
    clients.push(c);
    const ok = waitFor(c, 'connected');
    c.connect();
    return { c, ctx: await ok };
  };
  return { b, gyre, connected };
}

const last = (b, path) => b.requestsTo({ path }).at(-1);

test('meta from the connect proxy: rpc, subscribe and publish proxies with include_connection_meta get it, the others and the client do not', { timeout: TEST_TIMEOUT }, async (t) => {
  const { b, connected } = await setup(t);
  const { c, ctx } = await connected({ data: { meta: META } });
  assert.equal(JSON.stringify(ctx).includes('"plan"'), false, `the connect reply shows meta: ${JSON.stringify(ctx)}`);

  await c.rpc('getPrice', { id: 1 });
  const rpc = last(b, '/rpc');
  assert.deepEqual(rpc.body.meta, META);
  // Centrifugo's field order: meta last.
  assert.deepEqual(Object.keys(rpc.body), ['client', 'transport', 'protocol', 'encoding', 'user', 'method', 'data', 'meta']);
  await c.rpc('plain:x', {});
  assert.equal('meta' in last(b, '/rpc_plain').body, false);

  const sub = c.newSubscription('news', { data: { want: 'all' } });
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  const sreq = last(b, '/subscribe');
  assert.deepEqual(sreq.body.meta, META);
  // Centrifugo's SubscribeRequest puts meta before data.
  assert.deepEqual(Object.keys(sreq.body), ['client', 'transport', 'protocol', 'encoding', 'user', 'channel', 'meta', 'data']);
  await sub.publish({ text: 'hi' });
  assert.equal('meta' in last(b, '/publish').body, false);

  const ms = c.newSubscription('mm:room');
  const msub = waitFor(ms, 'subscribed');
  ms.subscribe();
  await msub;
  await ms.publish({ text: 'hi' });
  assert.deepEqual(last(b, '/publish_meta').body.meta, META);

  // Nobody sees meta in presence.
  const p = await sub.presence();
  assert.equal(JSON.stringify(p).includes('"plan"'), false, JSON.stringify(p));
});

test('no meta: a connection without one sends none, even to proxies that include it', { timeout: TEST_TIMEOUT }, async (t) => {
  const { b, connected } = await setup(t);
  const { c } = await connected();
  await c.rpc('x', {});
  assert.equal('meta' in last(b, '/rpc').body, false);
});

test('refresh: the refresh proxy gets the meta and its answer replaces it; an answer without meta keeps it', { timeout: TEST_TIMEOUT }, async (t) => {
  const { b, connected } = await setup(t, { refresh: true });
  refreshAnswer = () => ({ expire_at: inSeconds(2), meta: { plan: 'max' } });
  // Expires in a second: the server asks the refresh proxy.
  const { c } = await connected({ data: { meta: META, expireIn: 1 } });
  const [first] = await b.waitForRequests(1, { path: '/refresh' }, 5000);
  assert.deepEqual(first.body.meta, META);
  await waitUntil(async () => {
    await c.rpc('after', {});
    return last(b, '/rpc').body.meta?.plan === 'max';
  }, 5000, 'the rpc proxy sees the refreshed meta');
  // The next refresh says nothing about meta: it stays.
  refreshAnswer = DEFAULT_REFRESH;
  const seen = b.requestsTo({ path: '/refresh' }).length;
  await b.waitForRequests(seen + 1, { path: '/refresh' }, 5000);
  await new Promise((r) => setTimeout(r, 100));
  await c.rpc('later', {});
  assert.deepEqual(last(b, '/rpc').body.meta, { plan: 'max' });
  assert.equal(c.state, 'connected');
});

test('the connection token\'s meta claim reaches the proxies', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const { b, connected } = await setup(t, { client: { token: key.config } });
  const { c } = await connected({ token: await mint({ sub: '77', meta: { tier: 'gold' } }, key) });
  await c.rpc('who', {});
  const rpc = last(b, '/rpc');
  assert.equal(rpc.body.user, '77');
  assert.deepEqual(rpc.body.meta, { tier: 'gold' });
  assert.equal(b.requestsTo({ path: '/connect' }).length, 0, 'a token connect skips the connect proxy');
});

test('binary_encoding: b64data in the request, b64data answers decoded for the client, non-JSON bytes → 100', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await startBackend((req) => {
    if (req.path !== '/rpc') return { json: { result: {} } };
    if (req.body?.method === 'text') return { json: { result: { b64data: Buffer.from('plain text').toString('base64') } } };
    const echoed = JSON.parse(Buffer.from(req.body.b64data, 'base64').toString('utf8'));
    return { json: { result: { b64data: Buffer.from(JSON.stringify({ echoed })).toString('base64') } } };
  });
  t.after(() => b.close());
  const gyre = await startGyre({
    client: { allow_anonymous_connect_without_token: true },
    rpc: { proxy: { endpoint: b.url('/rpc'), timeout: '1s', binary_encoding: true }, without_namespace: { proxy_enabled: true } },
  });
  const c = newCentrifuge(gyre.wsUrl);
  t.after(async () => {
    c.disconnect();
    await gyre.stop();
  });
  const ok = waitFor(c, 'connected');
  c.connect();
  await ok;
  const r = await c.rpc('echo', { n: [1, 2] });
  assert.deepEqual(r.data, { echoed: { n: [1, 2] } });
  const req = last(b, '/rpc');
  assert.equal(req.body.encoding, 'binary');
  assert.equal('data' in req.body, false);
  assert.deepEqual(JSON.parse(Buffer.from(req.body.b64data, 'base64').toString()), { n: [1, 2] });
  await assert.rejects(c.rpc('text', {}), (e) => e.code === 100);
  await gyre.waitForLog(/rpc proxy .*: result b64data is not JSON/);
  assert.equal(c.state, 'connected');
});

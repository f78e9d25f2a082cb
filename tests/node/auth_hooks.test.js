// Auth hooks (gyre_auth_ops) end to end with the real centrifuge SDK, driven
// by the auth-rules test plugin (tests/plugins/auth_rules.c), whose token
// text says what to decide: grant with credentials, deny with a code,
// decline, fail, answer later, expire, refresh by client or by host,
// server-side subscriptions, subscription tokens and overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { load, plugin } from './lib/plugins.js';
import { WebSocket, collect, connect, newCentrifuge, serverWithClients, waitFor, waitUntil } from './lib/client.js';
import { openRaw } from './lib/rawws.js';
import { startGyre } from './lib/server.js';

const TEST_TIMEOUT = 30_000;

const NAMESPACE = {
  allow_subscribe_for_client: true,
  presence: true,
  allow_presence_for_subscriber: true,
};

function config(pluginName = 'auth-rules', file = 'auth_rules.so') {
  return {
    client: { expired_close_delay: '1s', expired_sub_close_delay: '1s' },
    channel: { without_namespace: NAMESPACE, namespaces: [{ name: 'srv', ...NAMESPACE }] },
    ...load({ name: pluginName, path: plugin(file), config: { server_refresh_ttl: 1 } }),
  };
}

const setup = (t, cfg = config()) => serverWithClients(t, cfg);

async function presence(gyre, channel) {
  const r = await gyre.api('presence', { channel });
  assert.equal(r.status, 200, r.text);
  return Object.values(r.json.result.presence);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a granted connect carries the plugin\'s user and conn_info', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk({ token: 'user=alice;info={"a":1};data={"hello":"there"}' });
  const ctx = await connect(c);
  // connect result `data` from the credentials.
  assert.deepEqual(ctx.data, { hello: 'there' });
  const sub = c.newSubscription('room');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  const [p] = await presence(gyre, 'room');
  assert.equal(p.user, 'alice');
  assert.deepEqual(p.conn_info, { a: 1 });
});

test('denials: a disconnect code ends the client, an error code is its connect error', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const gone = mk({ token: 'act=deny;code=4501;reason=go away' });
  const d = waitFor(gone, 'disconnected');
  gone.connect();
  const ctx = await d;
  assert.equal(ctx.code, 4501);
  assert.equal(ctx.reason, 'go away');

  const refused = mk({ token: 'act=deny;code=101;reason=unauthorized' });
  const d2 = waitFor(refused, 'disconnected');
  refused.connect();
  const ctx2 = await d2;
  assert.equal(ctx2.code, 101); // a non-temporary connect error is terminal
  assert.equal(ctx2.reason, 'unauthorized');
});

test('pending answers: granted and denied after a delay', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const t0 = Date.now();
  const later = mk({ token: 'user=bob;delay=400' });
  await connect(later);
  assert.ok(Date.now() - t0 >= 350, `connected after ${Date.now() - t0} ms, before the plugin answered`);
  const sub = later.newSubscription('room2');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  assert.equal((await presence(gyre, 'room2'))[0].user, 'bob');

  const denied = mk({ token: 'act=deny;delay=200;code=3500;reason=invalid token' });
  const d = waitFor(denied, 'disconnected');
  denied.connect();
  assert.equal((await d).code, 3500);
});

test('declined with a token: the host\'s rule (no verifier took it: 3500); a failing plugin: error 100', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const declined = mk({ token: 'act=decline' });
  const d = waitFor(declined, 'disconnected');
  declined.connect();
  assert.equal((await d).code, 3500);

  const failing = mk({ token: 'act=fail' });
  // 100 is temporary: the SDK reports it and keeps reconnecting.
  const err = waitFor(failing, 'error');
  failing.connect();
  const e = await err;
  assert.equal(e.error.code, 100, JSON.stringify(e));
  assert.equal(failing.state, 'connecting');
});

test('credentials already expired: error 110, terminal', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk({ token: 'user=old;past=1' });
  const d = waitFor(c, 'disconnected');
  c.connect();
  const ctx = await d;
  assert.equal(ctx.code, 110);
});

test('client-side refresh: getToken keeps the connection alive past several token lifetimes', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  let calls = 0;
  const c = mk({
    getToken: async () => {
      calls++;
      return 'user=carol;ttl=2';
    },
  });
  const events = collect(c, 'disconnected');
  const connecting = collect(c, 'connecting');
  const ctx = await connect(c);
  const first = ctx.client;
  // Three lifetimes of 2 s (and the 1 s grace): without refreshes the
  // host would have closed it with 3005 by now.
  await sleep(7000);
  assert.equal(c.state, 'connected');
  assert.ok(calls >= 3, `getToken called ${calls} times`);
  assert.equal(events.length, 0);
  assert.equal(connecting.length, 1, 'reconnected meanwhile'); // only the first connect
  // The refresh reply carries the client id (the SDK stores it).
  assert.ok(first);
});

// The SDK drops a connection itself when its ttl passes without getToken,
// so what the host does to a client that never refreshes is seen raw.
test('no refresh: the connection expires with 3005 after the grace period', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: 'user=dave;ttl=1' } });
  const reply = await ws.nextJson();
  assert.equal(reply.connect.expires, true, JSON.stringify(reply));
  assert.equal(reply.connect.ttl, 1, JSON.stringify(reply));
  const t0 = Date.now();
  const { code, reason } = await ws.closed;
  assert.equal(code, 3005);
  assert.equal(reason, 'connection expired');
  // ttl 1 s + expired_close_delay 1 s, checked every second.
  assert.ok(Date.now() - t0 >= 1500, `expired after ${Date.now() - t0} ms`);
});

test('server-side refresh: the host asks the plugin at expiry; its new info shows in presence', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk({ token: 'user=erin;ttl=1;refresh=server' });
  const dropped = collect(c, 'connecting');
  await connect(c);
  const sub = c.newSubscription('srv:live');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  // server_refresh_ttl is 1 s: several host refreshes within 4.5 s.
  await sleep(4500);
  assert.equal(c.state, 'connected');
  assert.equal(dropped.length, 1, 'the connection was dropped and reconnected');
  const [p] = await presence(gyre, 'srv:live');
  assert.ok(p.conn_info?.refreshed >= 2, JSON.stringify(p));
});

test('a token-only plugin is not asked without a token, nor about the host\'s own refreshes', { timeout: TEST_TIMEOUT }, async (t) => {
  const cfg = config('auth-rules-token-only', 'auth_rules_token_only.so');
  cfg.client.allow_anonymous_connect_without_token = true;
  const { gyre, mk } = await setup(t, cfg);
  await connect(mk({}));
  // auth-rules (not token-only) logs when asked about a tokenless connect.
  await sleep(200);
  assert.doesNotMatch(gyre.stderr(), /asked about a connect without token/);
  // With refresh=server the host would ask on_refresh without a token:
  // a token-only plugin is skipped, so the connection just expires.
  const c = mk({ token: 'user=finn;ttl=1;refresh=server' });
  await connect(c);
  const ctx = await waitFor(c, 'connecting', 5000);
  assert.equal(ctx.code, 3005);

  // The plain plugin is asked about tokenless connects (and declines).
  const { gyre: g2, mk: mk2 } = await setup(t, { ...config(), client: { allow_anonymous_connect_without_token: true } });
  await connect(mk2({}));
  await g2.waitForLog(/asked about a connect without token/, 2000);
});

test('connect-time server-side subscriptions are in the connect reply and deliver publications', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk({ token: 'user=gus;subs=srv:a,srv:b' });
  const subscribed = collect(c, 'subscribed');
  const pubs = collect(c, 'publication');
  await connect(c);
  await subscribed.waitForCount(2);
  assert.deepEqual(subscribed.map((s) => s.channel).sort(), ['srv:a', 'srv:b']);
  const r = await gyre.api('publish', { channel: 'srv:b', data: { n: 1 } });
  assert.equal(r.status, 200, r.text);
  await pubs.waitForCount(1);
  assert.equal(pubs[0].channel, 'srv:b');
  assert.deepEqual(pubs[0].data, { n: 1 });
  // The grant's chan_info reaches presence.
  const [p] = await presence(gyre, 'srv:a');
  assert.deepEqual(p.chan_info, { server_side: true });
});

test('a server-side subscription to an unknown channel fails the connect with 102', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: 'user=una;subs=srv:ok,nosuchns:x' } });
  const reply = await ws.nextJson();
  assert.deepEqual(reply, { id: 1, error: { code: 102, message: 'unknown channel' } });
  // Nothing of it stays: no client, no channel.
  const info = await gyre.api('info', {});
  assert.equal(info.json.result.nodes[0].num_clients, 0, info.text);
});

test('request headers and emulated headers reach on_connect', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  // The SDK cannot set WebSocket headers; a ws subclass can.
  class HeaderWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { headers: { 'X-Test': 'from-request' } });
    }
  }
  const c = mk({ token: 'act=headers;user=hal', websocket: HeaderWebSocket, headers: { 'X-Emu': 'emulated' } });
  await connect(c);
  const sub = c.newSubscription('heads');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  const [p] = await presence(gyre, 'heads');
  assert.deepEqual(p.conn_info, { h: 'from-request', e: 'emulated', t: 'websocket' });
});

test('subscription tokens: granted with chan_info, refreshed by getToken, denied with the plugin\'s code', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk({ token: 'user=ivy' });
  await connect(c);
  // A private channel needs a token: the host refuses it without one...
  const bare = c.newSubscription('$secret');
  const refused = waitFor(bare, 'unsubscribed');
  bare.subscribe();
  assert.equal((await refused).code, 103);
  c.removeSubscription(bare);
  // ...and the plugin grants it with one, refreshed by the SDK.
  let calls = 0;
  const sub = c.newSubscription('$secret', {
    getToken: async () => {
      calls++;
      return 'info={"s":1};ttl=2';
    },
  });
  const unsubscribed = collect(sub, 'unsubscribed');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  await sleep(5500);
  assert.ok(calls >= 3, `sub getToken called ${calls} times`);
  assert.equal(sub.state, 'subscribed');
  assert.equal(unsubscribed.length, 0);
  const [p] = await presence(gyre, '$secret');
  assert.deepEqual(p.chan_info, { s: 1 });

  const denied = c.newSubscription('other', { token: 'act=deny;code=103;reason=permission denied' });
  const gone = waitFor(denied, 'unsubscribed');
  denied.subscribe();
  const ctx = await gone;
  assert.equal(ctx.code, 103);
});

test('a subscription not refreshed in time gets unsubscribe 2501', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: 'user=jo' } });
  await ws.nextJson();
  ws.sendJson({ id: 2, subscribe: { channel: 'fleeting', token: 'ttl=1' } });
  const reply = await ws.nextJson();
  assert.equal(reply.subscribe.expires, true, JSON.stringify(reply));
  assert.equal(reply.subscribe.ttl, 1, JSON.stringify(reply));
  const t0 = Date.now();
  let push;
  do push = await ws.nextJson(6000);
  while (!push.push?.unsubscribe);
  assert.deepEqual(push.push, { channel: 'fleeting', unsubscribe: { code: 2501, reason: 'subscription expired' } });
  assert.ok(Date.now() - t0 >= 1500, `expired after ${Date.now() - t0} ms`);
});

test('an override in the grant turns the namespace\'s presence off for that subscription', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk({ token: 'user=kim' });
  await connect(c);
  const hidden = c.newSubscription('stage', { token: 'presence=0' });
  const s1 = waitFor(hidden, 'subscribed');
  hidden.subscribe();
  await s1;
  const c2 = mk({ token: 'user=lee' });
  await connect(c2);
  const shown = c2.newSubscription('stage');
  const s2 = waitFor(shown, 'subscribed');
  shown.subscribe();
  await s2;
  const list = await waitUntil(async () => {
    const l = await presence(gyre, 'stage');
    return l.length >= 1 ? l : null;
  });
  assert.deepEqual(list.map((p) => p.user), ['lee']);
});

test('a credentials record shorter than the host\'s: the fields beyond its size are absent', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk({ token: 'user=ola;short=1' });
  const subscribed = collect(c, 'subscribed');
  const ctx = await connect(c);
  // data and subs lie past `size`: no data in the reply, no subscription.
  assert.equal(ctx.data, undefined, JSON.stringify(ctx));
  await sleep(300);
  assert.equal(subscribed.length, 0);
});

test('the chain: plugins are asked in load order, the first decision wins, a decline passes on', { timeout: TEST_TIMEOUT }, async (t) => {
  const rules = { name: 'auth-rules', path: plugin('auth_rules.so') };
  const denyAll = { name: 'auth-deny-all', path: plugin('auth_deny_all.so') };
  const declines = { name: 'bound-section', path: plugin('bound_section.so') }; // on_connect declines
  const chain = (...entries) => ({ ...config(), plugins: { load: entries } });

  const first = await setup(t, chain(rules, denyAll));
  const granted = newCentrifuge(first.gyre.wsUrl, { token: 'user=pat' });
  t.after(() => granted.disconnect());
  await connect(granted);

  const second = await setup(t, chain(denyAll, rules));
  const denied = newCentrifuge(second.gyre.wsUrl, { token: 'user=pat' });
  t.after(() => denied.disconnect());
  const d = waitFor(denied, 'disconnected');
  denied.connect();
  const ctx = await d;
  assert.equal(ctx.code, 4503);
  assert.equal(ctx.reason, 'denied by auth-deny-all');

  const third = await setup(t, chain(declines, rules));
  const passed = newCentrifuge(third.gyre.wsUrl, { token: 'user=pat' });
  t.after(() => passed.disconnect());
  await connect(passed);
});

test('the host refreshing many subscriptions, answered at once with an expiry in the past: each ends with 2501', { timeout: TEST_TIMEOUT }, async (t) => {
  // One worker: the plugin answers on the client's own loop, inside the
  // expiry check that walks the subscriptions.
  const cfg = config();
  cfg.node = { workers: 1 };
  cfg.plugins.load[0].config.server_refresh_ttl = -10;
  const { gyre } = await setup(t, cfg);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: 'user=many' } });
  await ws.nextJson();
  const channels = ['m1', 'm2', 'm3', 'm4'];
  channels.forEach((channel, i) => ws.sendJson({ id: 2 + i, subscribe: { channel, token: 'ttl=1;refresh=server' } }));
  const ended = new Set();
  while (ended.size < channels.length) {
    const m = await ws.nextJson(6000);
    if (m.push?.unsubscribe) {
      assert.equal(m.push.unsubscribe.code, 2501, JSON.stringify(m));
      ended.add(m.push.channel);
    }
  }
  assert.deepEqual([...ended].sort(), channels);
  // The server is fine and the connection still up.
  assert.equal((await gyre.api('info', {})).status, 200);
  assert.equal(ws.closeInfo, null);
});

test('refresh replies: expires/ttl only while the client refreshes; the host\'s own refreshes stay its own', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: 'user=rex;ttl=100' } });
  assert.equal((await ws.nextJson()).connect.ttl, 100);
  ws.sendJson({ id: 2, subscribe: { channel: 'r', token: 'ttl=100' } });
  assert.equal((await ws.nextJson()).subscribe.expires, true);
  // New credentials that hand refreshing to the server: no expires/ttl.
  ws.sendJson({ id: 3, sub_refresh: { channel: 'r', token: 'ttl=100;refresh=server' } });
  const sr = await ws.nextJson();
  assert.deepEqual(sr, { id: 3, sub_refresh: {} }, JSON.stringify(sr));
  ws.sendJson({ id: 4, refresh: { token: 'user=rex;ttl=100;refresh=server' } });
  const r = await ws.nextJson();
  assert.equal(r.id, 4, JSON.stringify(r));
  assert.equal(r.refresh.expires, undefined, JSON.stringify(r));
  assert.ok(r.refresh.client);
  // A different user in the refresh: 3500.
  const ws2 = await openRaw(gyre.wsUrl);
  ws2.sendJson({ id: 1, connect: { token: 'user=sam;ttl=100' } });
  await ws2.nextJson();
  ws2.sendJson({ id: 2, refresh: { token: 'user=eve;ttl=100' } });
  assert.equal((await ws2.closed).code, 3500);
});

test('plugin values are bounded: invalid JSON or a meta that is no object in a grant is error 100, a huge expiry is capped', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre } = await setup(t);
  const bad = await openRaw(gyre.wsUrl);
  t.after(() => bad.terminate());
  bad.sendJson({ id: 1, connect: { token: 'user=x;info={not json' } });
  const e = await bad.nextJson();
  assert.equal(e.error?.code, 100, JSON.stringify(e));
  await gyre.waitForLog(/conn info is not valid JSON/, 2000);
  // Connection meta must be a JSON object (ABI 1.5).
  for (const [meta, log] of [['[1]', /connection meta is not a JSON object/], ['{nope', /connection meta is not a JSON object/]]) {
    const m = await openRaw(gyre.wsUrl);
    t.after(() => m.terminate());
    m.sendJson({ id: 1, connect: { token: `user=m;meta=${meta}` } });
    const r = await m.nextJson();
    assert.equal(r.error?.code, 100, `${meta}: ${JSON.stringify(r)}`);
    await gyre.waitForLog(log, 2000);
  }
  const good = await openRaw(gyre.wsUrl);
  t.after(() => good.terminate());
  good.sendJson({ id: 1, connect: { token: 'user=m;meta={"plan":"pro"}' } });
  const accepted = await good.nextJson();
  assert.ok(accepted.connect, JSON.stringify(accepted));
  assert.equal(JSON.stringify(accepted).includes('plan'), false, 'meta never reaches the client');
  const huge = await openRaw(gyre.wsUrl);
  t.after(() => huge.terminate());
  huge.sendJson({ id: 1, connect: { token: 'user=y;ttl=9223372036854' } });
  const ok = await huge.nextJson();
  assert.ok(ok.connect?.ttl > 0 && ok.connect.ttl <= 4294967295, JSON.stringify(ok));
});

test('auth ops still parked at shutdown: the plugin refuses them in destroy, the server exits cleanly', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await startGyre(config());
  const raws = [];
  for (let i = 0; i < 4; i++) {
    const ws = await openRaw(gyre.wsUrl);
    ws.sendJson({ id: 1, connect: { token: `user=w${i};delay=60000` } });
    raws.push(ws);
  }
  t.after(() => raws.forEach((w) => w.terminate()));
  await new Promise((r) => setTimeout(r, 300));
  gyre.proc.kill('SIGTERM');
  const { code, signal } = await gyre.waitExit();
  assert.equal(signal, null, gyre.stderr());
  assert.equal(code, 0, gyre.stderr());
});

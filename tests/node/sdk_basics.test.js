// Basic client-protocol behaviour seen through the official centrifuge-js SDK
// (5.7.4): connect, subscribe, publications, client publish permissions,
// presence, history, join/leave, and the error codes for unknown namespaces,
// missing presence and RPC without a handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { collect, connect, serverWithClients, waitFor } from './lib/client.js';

const TEST_TIMEOUT = 20_000;

const ANON_SUB = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [
      // client publish allowed (anonymous too)
      { name: 'pub', ...ANON_SUB, allow_publish_for_client: true, allow_publish_for_anonymous: true },
      // subscribe only: no publish, no presence, no history
      { name: 'nopub', ...ANON_SUB },
      {
        name: 'pres',
        ...ANON_SUB,
        presence: true,
        allow_presence_for_client: true,
        allow_presence_for_anonymous: true,
      },
      {
        name: 'hist',
        ...ANON_SUB,
        history_size: 10,
        history_ttl: '60s',
        allow_history_for_client: true,
        allow_history_for_anonymous: true,
      },
      { name: 'jl', ...ANON_SUB, join_leave: true, force_push_join_leave: true, presence: true },
    ],
  },
};

const setup = (t, config = CONFIG) => serverWithClients(t, config);

// Subscribes and resolves with {sub, ctx}; rejects early (with the code) if
// the subscription ends in `unsubscribed` instead.
async function subscribe(c, channel, opts) {
  const sub = c.newSubscription(channel, opts);
  const result = new Promise((resolve, reject) => {
    sub.once('subscribed', (ctx) => resolve(ctx));
    sub.once('unsubscribed', (ctx) =>
      reject(new Error(`subscribe to ${channel} failed: ${ctx.code} ${ctx.reason}`)),
    );
  });
  const timed = Promise.race([
    result,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`timed out subscribing to ${channel}`)), 5000).unref(),
    ),
  ]);
  sub.subscribe();
  return { sub, ctx: await timed };
}

// Next `event` on `emitter` whose context satisfies pred.
function waitForMatch(emitter, event, pred, timeoutMs = 5000, what = event) {
  return new Promise((resolve, reject) => {
    const onEvent = (ctx) => {
      if (!pred(ctx)) return;
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      resolve(ctx);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

async function rejection(promise) {
  try {
    const v = await promise;
    return { resolved: v };
  } catch (e) {
    return e;
  }
}

test('connect: connected event with a non-empty client id', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  const ctx = await connect(c);
  assert.equal(typeof ctx.client, 'string');
  assert.ok(ctx.client.length > 0, 'client id must be non-empty');
  assert.equal(ctx.transport, 'websocket');
  assert.equal(c.state, 'connected');

  // Two connections get different ids.
  const c2 = mk();
  const ctx2 = await connect(c2);
  assert.notEqual(ctx2.client, ctx.client);
});

test('subscribe: subscribed event, state subscribed', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  await connect(c);
  const { sub, ctx } = await subscribe(c, 'nopub:room');
  assert.equal(ctx.channel, 'nopub:room');
  assert.equal(sub.state, 'subscribed');
  // No history in this namespace: neither positioned nor recoverable.
  assert.equal(ctx.recoverable, false);
  assert.equal(ctx.positioned, false);
  assert.equal(ctx.wasRecovering, false);
});

test('API publish is delivered to the subscription with the exact data', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk();
  await connect(c);
  const { sub } = await subscribe(c, 'nopub:news');
  const pubs = collect(sub, 'publication');

  const data = { text: 'hello', n: 42, nested: { list: [1, 'two', null, true] }, unicode: 'héllo ✓' };
  const r = await gyre.api('publish', { channel: 'nopub:news', data });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { result: {} }, 'no history: publish result is empty');

  await pubs.waitForCount(1);
  assert.equal(pubs[0].channel, 'nopub:news');
  assert.deepEqual(pubs[0].data, data);

  // A second publication arrives after the first, in order, and nothing else shows up.
  await gyre.api('publish', { channel: 'nopub:news', data: { seq: 2 } });
  await pubs.waitForCount(2);
  assert.deepEqual(pubs[1].data, { seq: 2 });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(pubs.length, 2, 'exactly two publications');
});

test('client publish: allowed with allow_publish_for_client(+anonymous)', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const publisher = mk();
  const pctx = await connect(publisher);
  const subscriber = mk();
  await connect(subscriber);
  const { sub } = await subscribe(subscriber, 'pub:talk');
  const pubs = collect(sub, 'publication');

  const res = await publisher.publish('pub:talk', { msg: 'from client' });
  assert.deepEqual(res, {});

  await pubs.waitForCount(1);
  assert.deepEqual(pubs[0].data, { msg: 'from client' });
  // Like Centrifugo, a client-side publication carries the publisher's ClientInfo.
  assert.ok(pubs[0].info, 'publication info (publisher ClientInfo) present');
  assert.equal(pubs[0].info.client, pctx.client);
  assert.equal(pubs[0].info.user, '');
});

test('client publish: denied with 103 in a namespace without publish permission', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  await connect(c);
  // Being subscribed does not help: allow_publish_for_subscriber is off too.
  const { sub } = await subscribe(c, 'nopub:talk');
  const pubs = collect(sub, 'publication');

  const err = await rejection(c.publish('nopub:talk', { msg: 'nope' }));
  assert.equal(err.code, 103, `expected error 103, got ${JSON.stringify(err)}`);
  assert.equal(err.message, 'permission denied');

  // The connection survives the error and nothing was published.
  assert.equal(c.state, 'connected');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(pubs.length, 0);
});

test('presence and presence stats', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  const ctx = await connect(c);
  await subscribe(c, 'pres:room');

  const p = await c.presence('pres:room');
  assert.deepEqual(Object.keys(p.clients), [ctx.client]);
  assert.equal(p.clients[ctx.client].client, ctx.client);
  assert.equal(p.clients[ctx.client].user, '');

  let stats = await c.presenceStats('pres:room');
  assert.deepEqual(stats, { numClients: 1, numUsers: 1 });

  // A second anonymous connection: two clients, still one (empty) user.
  const c2 = mk();
  const ctx2 = await connect(c2);
  const { sub: sub2 } = await subscribe(c2, 'pres:room');
  const p2 = await c.presence('pres:room');
  assert.deepEqual(Object.keys(p2.clients).sort(), [ctx.client, ctx2.client].sort());
  assert.equal(p2.clients[ctx2.client].client, ctx2.client);
  assert.equal(p2.clients[ctx2.client].user, '');
  stats = await c.presenceStats('pres:room');
  assert.deepEqual(stats, { numClients: 2, numUsers: 1 });

  // Unsubscribing removes the second client from presence.
  const unsubscribed = waitFor(sub2, 'unsubscribed');
  sub2.unsubscribe();
  await unsubscribed;
  // The unsubscribe command is fire-and-forget from the SDK's point of view;
  // wait (bounded) until the server has processed it.
  const deadline = Date.now() + 3000;
  for (;;) {
    stats = await c.presenceStats('pres:room');
    if (stats.numClients === 1 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
  const p3 = await c.presence('pres:room');
  assert.deepEqual(Object.keys(p3.clients), [ctx.client]);
});

test('presence in a namespace without presence: error 108', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  await connect(c);
  await subscribe(c, 'nopub:room');

  let err = await rejection(c.presence('nopub:room'));
  assert.equal(err.code, 108, `presence: expected 108, got ${JSON.stringify(err)}`);
  assert.equal(err.message, 'not available');

  err = await rejection(c.presenceStats('nopub:room'));
  assert.equal(err.code, 108, `presence_stats: expected 108, got ${JSON.stringify(err)}`);
  assert.equal(err.message, 'not available');
  assert.equal(c.state, 'connected');
});

test('history: limit and reverse return the exact publications', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const ch = 'hist:h1';
  let epoch;
  for (let i = 1; i <= 5; i++) {
    const r = await gyre.api('publish', { channel: ch, data: { n: i } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result.offset, i, `publish ${i}: ${r.text}`);
    assert.ok(r.json.result.epoch, 'epoch present');
    if (epoch === undefined) epoch = r.json.result.epoch;
    assert.equal(r.json.result.epoch, epoch, 'epoch stays the same');
  }

  const c = mk();
  await connect(c);

  // No options: only the stream position.
  let h = await c.history(ch);
  assert.deepEqual(h.publications, []);
  assert.equal(h.offset, 5);
  assert.equal(h.epoch, epoch);

  // limit 3: the oldest three, oldest first.
  h = await c.history(ch, { limit: 3 });
  assert.deepEqual(
    h.publications.map((p) => [p.offset, p.data]),
    [
      [1, { n: 1 }],
      [2, { n: 2 }],
      [3, { n: 3 }],
    ],
  );
  assert.equal(h.offset, 5);
  assert.equal(h.epoch, epoch);

  // limit 2 + reverse: the newest two, newest first.
  h = await c.history(ch, { limit: 2, reverse: true });
  assert.deepEqual(
    h.publications.map((p) => [p.offset, p.data]),
    [
      [5, { n: 5 }],
      [4, { n: 4 }],
    ],
  );
  assert.equal(h.offset, 5);
  assert.equal(h.epoch, epoch);

  // limit larger than the stream: everything, oldest first.
  h = await c.history(ch, { limit: 100 });
  assert.deepEqual(
    h.publications.map((p) => p.offset),
    [1, 2, 3, 4, 5],
  );

  // since: publications after offset 3.
  h = await c.history(ch, { limit: 10, since: { offset: 3, epoch } });
  assert.deepEqual(
    h.publications.map((p) => [p.offset, p.data]),
    [
      [4, { n: 4 }],
      [5, { n: 5 }],
    ],
  );

  // History in a namespace without history: 108.
  const err = await rejection(c.history('nopub:x', { limit: 1 }));
  assert.equal(err.code, 108, `expected 108, got ${JSON.stringify(err)}`);
});

test('join/leave pushed to the other subscriber', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const ch = 'jl:room';
  const c1 = mk();
  const ctx1 = await connect(c1);
  const { sub: sub1 } = await subscribe(c1, ch);

  const c2 = mk();
  const ctx2 = await connect(c2);
  assert.notEqual(ctx1.client, ctx2.client);

  const join = waitForMatch(sub1, 'join', (j) => j.info.client === ctx2.client, 5000, 'join of the second client');
  await subscribe(c2, ch);
  const j = await join;
  assert.equal(j.channel, ch);
  assert.equal(j.info.client, ctx2.client);
  assert.equal(j.info.user, '');

  const leave = waitForMatch(sub1, 'leave', (l) => l.info.client === ctx2.client, 5000, 'leave of the second client');
  c2.disconnect();
  const l = await leave;
  assert.equal(l.channel, ch);
  assert.equal(l.info.client, ctx2.client);
  assert.equal(l.info.user, '');
});

test('join/leave: an unsubscribe (connection kept) also produces a leave', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const ch = 'jl:room2';
  const c1 = mk();
  await connect(c1);
  const { sub: sub1 } = await subscribe(c1, ch);
  const c2 = mk();
  const ctx2 = await connect(c2);
  const join = waitForMatch(sub1, 'join', (j) => j.info.client === ctx2.client, 5000, 'join of the second client');
  const { sub: sub2 } = await subscribe(c2, ch);
  await join;

  const leaves = collect(sub1, 'leave');
  sub2.unsubscribe();
  await leaves.waitForCount(1);
  assert.equal(leaves[0].info.client, ctx2.client);
  assert.equal(leaves[0].info.user, '');
  // Disconnecting afterwards must not produce a second leave.
  c2.disconnect();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(leaves.length, 1, `exactly one leave: ${JSON.stringify(leaves)}`);
});

test('subscribe to an unknown namespace: unsubscribed with 102', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  await connect(c);
  const sub = c.newSubscription('nosuchns:room');
  let subscribedSeen = false;
  sub.on('subscribed', () => {
    subscribedSeen = true;
  });
  const unsubscribed = waitFor(sub, 'unsubscribed');
  sub.subscribe();
  const ctx = await unsubscribed;
  assert.equal(ctx.code, 102);
  assert.equal(ctx.reason, 'unknown channel');
  assert.equal(sub.state, 'unsubscribed');
  assert.equal(subscribedSeen, false);
  assert.equal(c.state, 'connected', 'a subscribe error does not drop the connection');
});

test('rpc without a handler: error 104 method not found', { timeout: TEST_TIMEOUT }, async (t) => {
  const { mk } = await setup(t);
  const c = mk();
  await connect(c);
  const err = await rejection(c.rpc('some_method', { a: 1 }));
  assert.equal(err.code, 104, `expected 104, got ${JSON.stringify(err)}`);
  assert.equal(err.message, 'method not found');
  assert.equal(c.state, 'connected');
});

// engine-redis, spec redis-engine.md §12 cases about streams over time:
// 5 history TTL vs meta TTL, 6 a new epoch whenever Redis forgets the meta
// (DEL of the meta hash, FLUSHALL, restart without persistence) and clients
// resuming from the old epoch told they were not recovered, 7 recovery while
// another node publishes about one message per millisecond.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, startNodes, keysOf } from './lib/redis.js';
import { newCentrifuge, connect, collect, waitFor, waitUntil } from './lib/client.js';

const TEST_TIMEOUT = 45_000;

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [
      // §12.5: history_ttl 2 s, meta TTL 10 s
      { name: 'ttl', ...ANON, history_size: 10, history_ttl: '2s', history_meta_ttl: '10s', force_recovery: true },
      { name: 'rec', ...ANON, history_size: 1000, history_ttl: '300s', force_recovery: true },
    ],
  },
};

async function withRedis(t) {
  const r = await startRedis();
  t.after(() => r.stop());
  return r;
}

function sdk(t, g, opts) {
  const c = newCentrifuge(g.wsUrl, opts);
  t.after(() => c.disconnect());
  return c;
}

async function publish(g, channel, data) {
  const r = await g.api('publish', { channel, data });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json?.result, `publish to ${channel} on ${g.url}: ${r.text}`);
  return r.json.result;
}

async function history(g, channel, body = {}) {
  const r = await g.api('history', { channel, ...body });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json?.result, `history of ${channel}: ${r.text}`);
  return r.json.result;
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Subscribes with a `since` position (recovery) and resolves with the
// subscribed context and the publication collector.
async function subscribeSince(c, channel, since) {
  const sub = c.newSubscription(channel, since ? { since } : {});
  const pubs = collect(sub);
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  return { sub, pubs, ctx: await subscribed };
}

test('§12.5 history_ttl 2s vs history_meta_ttl 10s: items expire, top and epoch stay; then the meta goes too', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const [a, b] = await startNodes(t, 2, redis, CONFIG);
  const ch = 'ttl:x';
  const k = keysOf(a.prefix, ch);
  let epoch;
  for (let n = 1; n <= 5; n++) epoch = (await publish(a, ch, { n })).epoch;
  const fresh = await history(b, ch, { limit: -1 });
  assert.deepEqual(fresh.publications.map((p) => p.offset), [1, 2, 3, 4, 5]);
  const sttl = await redis.cli('PTTL', k.stream);
  const mttl = await redis.cli('PTTL', k.meta);
  assert.ok(sttl > 0 && sttl <= 2000, `stream PTTL <= 2 s (got ${sttl})`);
  assert.ok(mttl > 2000 && mttl <= 10_000, `meta PTTL in (2 s, 10 s] (got ${mttl})`);

  // The items go after 2 s of inactivity; the position stays.
  const t0 = Date.now();
  const empty = await waitUntil(
    async () => {
      const h = await history(b, ch, { limit: -1 });
      return h.publications.length === 0 ? h : null;
    },
    6000,
    'history items to expire',
  );
  assert.ok(Date.now() - t0 >= 1000, 'items did not vanish right away');
  assert.deepEqual(empty, { publications: [], offset: 5, epoch }, 'top 5 and the epoch are kept');

  // Recovery from offset 3 cannot succeed (4 and 5 are gone).
  const c = sdk(t, b);
  await connect(c);
  const { sub, pubs, ctx } = await subscribeSince(c, ch, { offset: 3, epoch });
  assert.equal(ctx.wasRecovering, true);
  assert.equal(ctx.recovered, false, 'recovery from 3 must report not recovered');
  assert.equal(ctx.streamPosition.offset, 5);
  assert.equal(ctx.streamPosition.epoch, epoch);
  assert.equal(pubs.length, 0, 'nothing recovered');
  sub.unsubscribe();
  c.disconnect();

  // Nobody touches the channel now (every history call would refresh the
  // meta TTL): wait, in Redis only, for the meta to expire.
  await waitUntil(async () => (await redis.cli('EXISTS', k.meta)) === 0, 15_000, 'the meta hash to expire (meta TTL 10 s)');
  const reborn = await history(a, ch, { limit: -1 });
  assert.equal(reborn.offset, 0, 'top 0 after the meta expired');
  assert.notEqual(reborn.epoch, epoch, 'a new epoch');
  assert.deepEqual(reborn.publications, []);
  assert.deepEqual(await publish(b, ch, { n: 1 }), { offset: 1, epoch: reborn.epoch }, 'offsets restart at 1 in the new epoch');
});

// Publishes 5, makes Redis forget the channel with `forget`, then checks the
// new epoch, that nothing stale is served, that a client resuming from
// (5, old epoch) is not recovered, and that live delivery restarts at 1.
async function epochScenario(t, forget) {
  const redis = await withRedis(t);
  const [a, b] = await startNodes(t, 2, redis, CONFIG, { redis: { io_timeout: '1s', connect_timeout: '300ms' } });
  const ch = 'rec:epoch';
  const k = keysOf(a.prefix, ch);
  let e1;
  for (let n = 1; n <= 5; n++) e1 = (await publish(a, ch, { n })).epoch;

  await forget(redis, k);

  // History answers again (after a restart the engine must reconnect first).
  const h = await waitUntil(
    async () => {
      const r = await b.api('history', { channel: ch, limit: -1 });
      return r.json?.result;
    },
    10_000,
    'history to answer after Redis forgot the channel',
  );
  assert.notEqual(h.epoch, e1, 'a new epoch');
  assert.equal(h.offset, 0, 'top 0');
  assert.deepEqual(h.publications, [], 'stale entries of the old epoch must not be served');

  const c = sdk(t, a);
  await connect(c);
  const { pubs, ctx } = await subscribeSince(c, ch, { offset: 5, epoch: e1 });
  assert.equal(ctx.wasRecovering, true);
  assert.equal(ctx.recovered, false, 'resuming from the old epoch must not be recovered');
  assert.equal(ctx.streamPosition.epoch, h.epoch, 'told the new epoch');
  assert.equal(ctx.streamPosition.offset, 0);
  const p1 = await publish(b, ch, { n: 'new' });
  assert.deepEqual(p1, { offset: 1, epoch: h.epoch }, 'first publish of the new epoch gets offset 1');
  await pubs.waitForCount(1);
  assert.deepEqual(pubs.map((p) => [p.offset, p.data.n]), [[1, 'new']], 'only the new publication, live');
  const after = await history(a, ch, { limit: -1 });
  assert.deepEqual(after.publications.map((p) => [p.offset, p.data.n]), [[1, 'new']], 'history holds only the new epoch');
  assert.equal(await redis.cli('XLEN', k.stream), 1, 'the stale stream was replaced');
}

test('§12.6 epoch changes after DEL of the meta hash', { timeout: TEST_TIMEOUT }, async (t) => {
  await epochScenario(t, async (redis, k) => {
    assert.equal(await redis.cli('DEL', k.meta), 1, 'the meta hash existed');
  });
});

test('§12.6 epoch changes after FLUSHALL', { timeout: TEST_TIMEOUT }, async (t) => {
  await epochScenario(t, async (redis) => {
    assert.equal(await redis.cli('FLUSHALL'), 'OK');
  });
});

test('§12.6 epoch changes after a Redis restart without persistence', { timeout: TEST_TIMEOUT }, async (t) => {
  await epochScenario(t, async (redis) => {
    await redis.restart();
    assert.equal(await redis.cli('DBSIZE'), 0, 'restarted empty');
  });
});

test('§12.7 recovery while another node publishes ~1 msg/ms: every offset > 10 exactly once, recovered', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const [a, b] = await startNodes(t, 2, redis, CONFIG);
  const ch = 'rec:flow';
  const c = sdk(t, a);
  await connect(c);
  const sub = c.newSubscription(ch);
  const pubs = collect(sub);
  const subscribed = collect(sub, 'subscribed');
  const unsubscribed = collect(sub, 'unsubscribed');
  sub.subscribe();
  await subscribed.waitForCount(1);
  for (let n = 1; n <= 10; n++) await publish(b, ch, { n });
  await pubs.waitForCount(10);
  assert.deepEqual(pubs.map((p) => p.offset), range(1, 10));

  const disconnected = waitFor(c, 'disconnected');
  c.disconnect();
  await disconnected;

  // Publisher on node B: back to back, each waits for its result (~1 ms).
  let n = 10;
  let stop = false;
  const publisher = (async () => {
    while (!stop) {
      n += 1;
      const r = await publish(b, ch, { n });
      assert.equal(r.offset, n, 'sequential publishes: offset == n');
    }
  })();
  await waitUntil(() => n >= 60, 5000, '50 publications while the client is away');
  c.connect();
  await subscribed.waitForCount(2, 10_000);
  const again = subscribed[1];
  // Keep publishing for a while after the resubscribe.
  const at = n;
  await waitUntil(() => n >= at + 200, 10_000, '200 more publications after the resubscribe');
  stop = true;
  await publisher;
  const last = n;

  await waitUntil(() => pubs.length && pubs[pubs.length - 1].offset >= last, 10_000, `the client to reach offset ${last}`);
  assert.equal(again.wasRecovering, true, 'wasRecovering');
  assert.equal(again.recovered, true, 'recovered');
  assert.deepEqual(pubs.map((p) => p.offset), range(1, last), 'every offset once, in order');
  assert.deepEqual(pubs.map((p) => p.data.n), range(1, last));
  assert.equal(subscribed.length, 2, 'no further resubscribe (no gap seen)');
  assert.equal(unsubscribed.length, 0, 'never unsubscribed');
});

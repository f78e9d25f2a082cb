// End to end on the Redis engine: three gyre nodes on one redis-server, SDK
// clients spread over them, publications through node 1's API reach every
// client once and in order. Then node 2 is SIGKILLed while publishing goes
// on; its clients move to node 3 with their last stream position (`since`)
// and recover exactly what they missed, so every client ends up with the
// whole stream. The survivors on nodes 1 and 3 never notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, startNodes } from './lib/redis.js';
import { newCentrifuge, connect, collect, waitFor, waitUntil } from './lib/client.js';

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  // presence_ttl 3s (below) needs refreshes more often than the default 27s.
  client: { allow_anonymous_connect_without_token: true, presence_update_interval: '1s' },
  channel: {
    namespaces: [
      { name: 'room', ...ANON, history_size: 1000, history_ttl: '300s', force_recovery: true, presence: true, join_leave: true },
    ],
  },
};
const CH = 'room:e2e';
const PER_NODE = 4;
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('three nodes on one Redis: everything delivered in order; a killed node\'s clients recover on another node', { timeout: 90_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const nodes = await startNodes(t, 3, redis, CONFIG, { redis: { presence_ttl: '3s' } });
  const [n1, n2, n3] = nodes;

  // Each client's view: publications by offset, plus where it is now.
  const views = [];
  const made = [];
  t.after(() => made.forEach((c) => c.disconnect()));
  async function join(node, idx, since) {
    const c = newCentrifuge(node.wsUrl);
    made.push(c);
    await connect(c);
    const sub = c.newSubscription(CH, since ? { since } : {});
    const pubs = collect(sub);
    const subscribed = collect(sub, 'subscribed');
    const unsubscribed = collect(sub, 'unsubscribed');
    sub.subscribe();
    await subscribed.waitForCount(1);
    return { c, sub, pubs, subscribed, unsubscribed, node: idx };
  }
  for (const [i, g] of nodes.entries()) {
    for (let k = 0; k < PER_NODE; k++) views.push(await join(g, i + 1));
  }
  const epoch = views[0].subscribed[0].streamPosition.epoch;
  assert.ok(views.every((v) => v.subscribed[0].streamPosition.epoch === epoch), 'one epoch everywhere');

  // Presence sees all 12, from any node.
  await waitUntil(
    async () => (await n3.api('presence_stats', { channel: CH })).json?.result?.num_clients === 3 * PER_NODE,
    5000,
    'presence_stats to count every client',
  );

  let n = 0;
  const publish = async () => {
    n += 1;
    const r = await n1.api('publish', { channel: CH, data: { n } });
    assert.ok(r.json?.result, r.text);
    assert.deepEqual(r.json.result, { offset: n, epoch }, 'offset == n');
  };
  for (let i = 0; i < 50; i++) await publish();
  await Promise.all(views.map((v) => v.pubs.waitForCount(50, 10_000)));
  for (const v of views) assert.deepEqual(v.pubs.map((p) => p.data.n), range(1, 50), `client on node ${v.node}`);

  // Kill node 2 in the middle of a burst; keep publishing.
  const burst = (async () => {
    for (let i = 0; i < 100; i++) await publish();
  })();
  await waitUntil(() => n >= 70, 5000, 'the burst to be under way');
  await n2.stop({ signal: 'SIGKILL' });
  await burst;

  // Node 2's clients: connecting (their node is gone). Move each to node 3
  // with the position it last saw.
  const orphans = views.filter((v) => v.node === 2);
  const moved = [];
  for (const v of orphans) {
    await waitUntil(() => v.c.state === 'connecting', 5000, 'a node-2 client to notice the crash');
    const last = v.pubs[v.pubs.length - 1].offset;
    v.c.disconnect();
    const nv = await join(n3, 3, { offset: last, epoch });
    const ctx = nv.subscribed[0];
    assert.equal(ctx.wasRecovering, true, 'recovering from its last position');
    assert.equal(ctx.recovered, true, 'recovered on node 3');
    moved.push({ before: v, after: nv, last });
  }
  for (let i = 0; i < 30; i++) await publish();
  const total = n;

  // Everybody ends with 1..total exactly once, in order.
  const survivors = views.filter((v) => v.node !== 2);
  await Promise.all(survivors.map((v) => v.pubs.waitForCount(total, 10_000)));
  for (const v of survivors) {
    assert.deepEqual(v.pubs.map((p) => p.data.n), range(1, total), `survivor on node ${v.node}`);
    assert.equal(v.subscribed.length, 1, 'survivors never resubscribed');
    assert.equal(v.unsubscribed.length, 0);
  }
  for (const { before, after, last } of moved) {
    await after.pubs.waitForCount(total - last, 10_000);
    const seen = [...before.pubs.map((p) => p.data.n), ...after.pubs.map((p) => p.data.n)];
    assert.deepEqual(seen, range(1, total), `moved client (last saw ${last} on node 2): nothing lost, nothing twice`);
    assert.deepEqual(after.pubs.map((p) => p.offset), range(last + 1, total));
  }

  // The dead node's presence entries expire (presence_ttl 3s); the moved
  // clients are present through node 3.
  const stats = async () => (await n1.api('presence_stats', { channel: CH })).json?.result;
  await waitUntil(async () => (await stats())?.num_clients === 3 * PER_NODE, 10_000, 'presence to settle').catch(async (e) => {
    throw new Error(`${e.message}: presence to drop node 2's entries and keep the moved clients, now ${JSON.stringify(await stats())}`);
  });
  const pres = (await n1.api('presence', { channel: CH })).json.result.presence;
  const want = [...survivors, ...moved.map((m) => m.after)].map((v) => v.c._client).sort();
  assert.deepEqual(Object.keys(pres).sort(), want, 'presence lists exactly the live clients');
});

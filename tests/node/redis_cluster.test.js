// engine-redis on a 3-master Redis Cluster (spec redis-engine.md §7.3),
// beyond the placement check in redis_topology.test.js: the server API and
// SDK features through the cluster (history, recovery, presence,
// idempotency) with both of Centrifugo's config forms (redis+cluster:// and
// engine.redis.cluster_address); a slot migrated between masters while a
// channel is being published to (ASK, TRYAGAIN, MOVED); and the master that
// carries the nodes' PUB/SUB connections killed with -9 (the connections move
// to another master, subscriptions come back and clients recover).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startCluster, startNodes, scanKeys } from './lib/redis.js';
import { newCentrifuge, connect, collect, waitUntil } from './lib/client.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    without_namespace: {
      ...ANON,
      history_size: 1000,
      history_ttl: '300s',
      force_recovery: true,
      presence: true,
      allow_history_for_client: true,
      allow_presence_for_client: true,
    },
  },
};

function sdk(t, g, opts) {
  const c = newCentrifuge(g.wsUrl, opts);
  t.after(() => c.disconnect());
  return c;
}

async function api(g, method, params) {
  const r = await g.api(method, params);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && !r.json.error, `${method} on ${g.url}: ${r.text}`);
  return r.json.result;
}

async function watch(c, channel) {
  const sub = c.newSubscription(channel);
  const pubs = collect(sub);
  const subscribed = collect(sub, 'subscribed');
  sub.subscribe();
  await subscribed.waitForCount(1);
  return { sub, pubs, subscribed };
}

// A channel named `${base}N` whose slot is served (or not served) by `node`.
async function channelOn(cluster, base, pred) {
  for (let i = 0; i < 1000; i++) {
    const ch = `${base}${i}`;
    const owner = await cluster.nodeForSlot(await cluster.keyslot(ch));
    if (pred(owner)) return ch;
  }
  throw new Error('no channel found');
}

test('cluster: history, recovery, presence and idempotency across two nodes (redis+cluster:// and cluster_address)', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(3);
  t.after(() => cluster.stop());
  // Node 0 from the URL form, node 1 from Centrifugo's separate key.
  const [a, b] = await startNodes(t, 2, cluster.url, CONFIG, {
    perNode: (i) => (i === 1 ? { engine: { redis: { address: 'redis://127.0.0.1:1', cluster_address: cluster.addresses } } } : {}),
  });
  const channels = ['chat', 'news', 'a', 'user42'];
  const owners = new Set();
  for (const ch of channels) owners.add((await cluster.nodeForSlot(await cluster.keyslot(ch))).port);
  assert.ok(owners.size >= 2, 'the channels live on several masters');

  const c = sdk(t, a);
  await connect(c);
  const w = {};
  for (const ch of channels) w[ch] = await watch(c, ch);

  for (let n = 1; n <= 20; n++) {
    for (const ch of channels) {
      const g = n % 2 ? a : b;
      assert.equal((await api(g, 'publish', { channel: ch, data: { n } })).offset, n, `${ch} #${n}`);
    }
  }
  for (const ch of channels) {
    await w[ch].pubs.waitForCount(20);
    assert.deepEqual(w[ch].pubs.map((p) => p.data.n), range(1, 20), `${ch} in order`);
  }
  // History from the other node, with since and reverse.
  const epoch = (await api(b, 'history', { channel: 'chat', limit: 0 })).epoch;
  assert.ok(epoch);
  const h = await api(b, 'history', { channel: 'chat', limit: 5, since: { offset: 10, epoch } });
  assert.deepEqual(h.publications.map((p) => p.offset), range(11, 15));
  const rev = await api(a, 'history', { channel: 'chat', limit: 3, reverse: true });
  assert.deepEqual(rev.publications.map((p) => p.offset), [20, 19, 18]);

  // Idempotency: the second publish with the key is not stored again.
  const first = await api(b, 'publish', { channel: 'news', data: { n: 21 }, idempotency_key: 'k1' });
  const again = await api(a, 'publish', { channel: 'news', data: { n: 21 }, idempotency_key: 'k1' });
  assert.equal(first.offset, 21);
  assert.equal(again.offset, 21);
  assert.equal((await api(a, 'history', { channel: 'news', limit: 0 })).offset, 21);

  // Presence of a client on node a, read from node b; stats too.
  const d = sdk(t, b);
  await connect(d);
  await watch(d, 'a');
  await waitUntil(async () => Object.keys((await api(b, 'presence', { channel: 'a' })).presence).length === 2, 5000, 'presence of 2');
  const stats = await api(a, 'presence_stats', { channel: 'a' });
  assert.equal(stats.num_clients, 2);

  // Recovery: the client drops, publications go on via node b, and it
  // comes back (to node b) with nothing lost.
  c.disconnect();
  for (let n = 21; n <= 25; n++) await api(b, 'publish', { channel: 'chat', data: { n } });
  const c2 = sdk(t, b);
  const sub = c2.newSubscription('chat', { since: { offset: 20, epoch } });
  const got = collect(sub);
  const subscribed = collect(sub, 'subscribed');
  sub.subscribe();
  await connect(c2);
  const [ctx] = await subscribed.waitForCount(1);
  assert.equal(ctx.recovered, true);
  await got.waitForCount(5);
  assert.deepEqual(got.map((p) => p.offset), range(21, 25));

  // Every key of a channel on its slot's master, with the hash tag.
  for (const ch of channels) {
    const owner = await cluster.nodeForSlot(await cluster.keyslot(ch));
    for (const node of cluster.nodes) {
      const keys = (await scanKeys(node, `${a.prefix}.*`)).filter((k) => k.includes(`{${ch}}`));
      if (node === owner) assert.ok(keys.includes(`${a.prefix}.stream.{${ch}}`), `${ch} stream on its owner`);
      else assert.deepEqual(keys, [], `no key of ${ch} on ${node.port}`);
    }
  }
  // info lists both nodes (control traffic crosses the cluster).
  await waitUntil(async () => (await api(a, 'info', {})).nodes.length === 2, 8000, 'two nodes in info');
});

test('cluster: a slot migrated to another master while its channel is published to (ASK, TRYAGAIN, MOVED)', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(3);
  t.after(() => cluster.stop());
  const [a, b] = await startNodes(t, 2, cluster.url, CONFIG);
  const ch = 'chat';
  const slot = await cluster.keyslot(ch);
  const src = await cluster.nodeForSlot(slot);
  const dst = cluster.nodes.find((n) => n !== src);
  const srcId = await src.cli('CLUSTER', 'MYID');
  const dstId = await dst.cli('CLUSTER', 'MYID');

  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);

  const acked = [];
  const failed = [];
  let stop = false;
  const publisher = (async () => {
    let n = 0;
    while (!stop) {
      n += 1;
      const r = await b.api('publish', { channel: ch, data: { n } });
      if (r.status === 200 && r.json?.result) acked.push({ n, offset: r.json.result.offset });
      else failed.push(r.text);
      await sleep(5);
    }
  })();
  await waitUntil(() => acked.length >= 50, 10_000, '50 publications before the migration');

  // The steps redis-cli --cluster reshard takes, with pauses so that
  // publications meet each state: importing/migrating (ASK, TRYAGAIN while
  // the keys are split), keys moved (ASK), then ownership (MOVED).
  await dst.cli('CLUSTER', 'SETSLOT', slot, 'IMPORTING', srcId);
  await src.cli('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dstId);
  await sleep(300);
  for (;;) {
    const keys = await src.cli('CLUSTER', 'GETKEYSINSLOT', slot, 100);
    if (!keys.length) break;
    for (const k of keys) {
      await src.cli('MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'KEYS', k);
      await sleep(100);
    }
  }
  await sleep(300);
  for (const n of cluster.nodes) await n.cli('CLUSTER', 'SETSLOT', slot, 'NODE', dstId);
  const before = acked.length;
  await waitUntil(() => acked.length >= before + 50, 10_000, '50 publications after the migration');
  stop = true;
  await publisher;

  t.diagnostic(`${acked.length} acknowledged, ${failed.length} failed${failed.length ? `: ${failed[0]}` : ''}`);
  if (failed.length) t.diagnostic(b.stderr().split('\n').filter((l) => /redis|engine|ERR|WARN/i.test(l)).slice(-20).join('\n'));
  assert.deepEqual(failed, [], 'no publication failed during the migration');
  assert.deepEqual(acked.map((x) => x.offset), range(1, acked.length), 'offsets gap-free');
  await waitUntil(() => new Set(w.pubs.map((p) => p.offset)).size >= acked.length, 10_000, 'every publication delivered');
  assert.deepEqual([...new Set(w.pubs.map((p) => p.offset))].sort((x, y) => x - y), range(1, acked.length));
  assert.equal((await cluster.nodeForSlot(slot)).port, dst.port);
  const moved = await scanKeys(dst, `${a.prefix}.stream*{${ch}}`);
  assert.ok(moved.includes(`${a.prefix}.stream.{${ch}}`), `stream on the new owner: ${moved}`);
  assert.deepEqual(await scanKeys(src, `${a.prefix}.*{${ch}}*`), [], 'nothing left on the old owner');
  const hist = await api(a, 'history', { channel: ch, limit: 0 });
  assert.equal(hist.offset, acked.length);
});

test('cluster: the master carrying PUB/SUB killed with -9; subscriptions move to another master and clients recover', { timeout: 120_000 }, async (t) => {
  // Without full coverage the other masters keep serving their slots.
  const cluster = await startCluster(3, { args: ['--cluster-require-full-coverage', 'no'] });
  t.after(() => cluster.stop());
  const [a, b] = await startNodes(t, 2, cluster.url, CONFIG, { redis: { io_timeout: '1s', connect_timeout: '300ms' } });
  // Both nodes start their PUB/SUB connection on the first address.
  const carrier = cluster.nodes[0];
  await waitUntil(async () => (await carrier.cli('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n').filter(Boolean).length >= 2, 5000, 'PUB/SUB on the first node');
  const ch = await channelOn(cluster, 'room', (owner) => owner !== carrier);

  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);
  const acked = [];
  let failures = 0;
  let stop = false;
  const publisher = (async () => {
    let n = 0;
    while (!stop) {
      n += 1;
      const r = await b.api('publish', { channel: ch, data: { n } }).catch(() => null);
      if (r?.status === 200 && r.json?.result) acked.push(r.json.result.offset);
      else failures += 1;
      await sleep(10);
    }
  })();
  await waitUntil(() => acked.length >= 30, 10_000, '30 publications');
  await carrier.kill();
  const killedAt = acked.length;
  await waitUntil(() => acked.length >= killedAt + 100, 20_000, '100 publications after the kill');
  stop = true;
  await publisher;

  const others = cluster.nodes.filter((n) => n !== carrier);
  const subs = await Promise.all(others.map(async (n) => (await n.cli('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n').filter(Boolean).length));
  assert.ok(subs.reduce((x, y) => x + y, 0) >= 2, `PUB/SUB connections moved: ${subs}`);
  const last = acked[acked.length - 1];
  await waitUntil(() => w.pubs.some((p) => p.offset === last), 20_000, 'the last publication delivered');
  const got = new Set(w.pubs.map((p) => p.offset));
  const missing = acked.filter((o) => !got.has(o));
  t.diagnostic(`${acked.length} acknowledged, ${failures} failed, resubscribes ${w.subscribed.length - 1}`);
  assert.deepEqual(missing, [], 'every acknowledged publication reached the subscriber');
});

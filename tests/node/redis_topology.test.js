// engine-redis topologies, spec redis-engine.md §12.15: (a) two independent
// Redis shards (jump hash of FNV-1a-64, §7.1: `chat` -> 0, `news` -> 1), every
// key and the PUB/SUB channel of a channel on its shard only, delivery and
// node-to-node control across nodes; (b) Redis Sentinel failover during
// publishing; (c) a 3-master Redis Cluster (all keys of a channel in one
// slot, delivery through any master).
//
// (b) and (c) first check that gyre starts with the redis+sentinel:// /
// redis+cluster:// address, so a refusal fails with the engine's reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  startRedis,
  startSentinel,
  startCluster,
  startNodes,
  keysOf,
  scanKeys,
  shardOf,
  redisEngine,
  uniquePrefix,
} from './lib/redis.js';
import { startGyre } from './lib/server.js';
import { newCentrifuge, connect, collect, waitFor, waitUntil } from './lib/client.js';

const TEST_TIMEOUT = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    without_namespace: { ...ANON, history_size: 100, history_ttl: '300s', force_recovery: true, presence: true },
    namespaces: [{ name: 'fo', ...ANON, history_size: 100000, history_ttl: '300s', force_recovery: true }],
  },
};

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

async function watch(c, channel) {
  const sub = c.newSubscription(channel);
  const pubs = collect(sub);
  const subscribed = collect(sub, 'subscribed');
  sub.subscribe();
  await subscribed.waitForCount(1);
  return { sub, pubs, subscribed };
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Starts gyre once with `address`; resolves null when it runs (and stops it
// again), or the reason it refused to start.
async function refusal(address) {
  let g;
  try {
    g = await startGyre({ ...CONFIG, ...redisEngine(address, { prefix: uniquePrefix('probe') }) }, { timeoutMs: 8000 });
  } catch (e) {
    const m = /ERROR[^\n]*/.exec(String(e.message));
    return m ? m[0] : String(e.message).split('\n')[0];
  }
  await g.stop();
  return null;
}

async function assertAccepted(address, what) {
  const why = await refusal(address);
  if (why === null) return false;
  assert.fail(`gyre refuses ${what}: ${why}`);
}

test('§7.1 shard vectors (jump hash of FNV-1a-64) as the tests compute them', () => {
  assert.equal(shardOf('chat', 2), 0);
  assert.equal(shardOf('news', 2), 1);
  assert.equal(shardOf('news', 3), 2);
  assert.equal(shardOf('user:42', 16), 15);
  assert.equal(shardOf('', 16), 13);
});

test('§12.15a two shards: chat only on shard 0, news only on shard 1; delivery and control across nodes', { timeout: TEST_TIMEOUT }, async (t) => {
  const r0 = await startRedis();
  const r1 = await startRedis();
  t.after(() => Promise.all([r0.stop(), r1.stop()]));
  const [a, b] = await startNodes(t, 2, [r0, r1], CONFIG);
  const P = a.prefix;

  const c = sdk(t, a);
  await connect(c);
  const chat = await watch(c, 'chat');
  const news = await watch(c, 'news');
  for (let n = 1; n <= 10; n++) {
    assert.equal((await publish(b, 'chat', { n })).offset, n);
    assert.equal((await publish(b, 'news', { n })).offset, n);
  }
  await chat.pubs.waitForCount(10);
  await news.pubs.waitForCount(10);
  assert.deepEqual(chat.pubs.map((p) => p.offset), range(1, 10));
  assert.deepEqual(news.pubs.map((p) => p.offset), range(1, 10));

  const kc = keysOf(P, 'chat');
  const kn = keysOf(P, 'news');
  await waitUntil(async () => (await r0.cli('EXISTS', kc.presenceData)) === 1, 5000, 'presence of chat on shard 0');
  const on0 = await scanKeys(r0, `${P}.*`);
  const on1 = await scanKeys(r1, `${P}.*`);
  assert.deepEqual(on0, [kc.presenceData, kc.presenceExpire, kc.stream, kc.meta].sort(), 'shard 0 holds chat\'s keys only');
  assert.deepEqual(on1, [kn.presenceData, kn.presenceExpire, kn.stream, kn.meta].sort(), 'shard 1 holds news\'s keys only');
  assert.deepEqual(await r0.cli('PUBSUB', 'CHANNELS', `${P}.client.*`), [kc.pubsub], 'chat subscribed on shard 0');
  assert.deepEqual(await r1.cli('PUBSUB', 'CHANNELS', `${P}.client.*`), [kn.pubsub], 'news subscribed on shard 1');

  // Node-to-node control (node info heartbeats) reaches the other node
  // whichever shard carries it: each node's `info` lists both. (The API
  // actions across nodes are multinode_control.test.js's business.)
  for (const g of [a, b]) {
    await waitUntil(
      async () => (await g.api('info', {})).json?.result?.nodes?.length === 2,
      10_000,
      `info on ${g.url} to list both nodes`,
    );
  }
});

test('§12.15b Sentinel: SENTINEL FAILOVER during publishing; writes and delivery resume on the new master', { timeout: 120_000 }, async (t) => {
  const master = await startRedis();
  const replica = await startRedis({ replicaOf: master });
  t.after(() => Promise.all([master.stop(), replica.stop()]));
  await waitUntil(async () => /master_link_status:up/.test(await replica.cli('INFO', 'replication')), 10_000, 'replica in sync');
  const sentinel = await startSentinel(master);
  t.after(() => sentinel.stop());
  await assertAccepted(sentinel.url, 'Redis Sentinel (redis+sentinel://)');

  await waitUntil(async () => (await sentinel.cli('SENTINEL', 'REPLICAS', 'mymaster')).length > 0, 15_000, 'sentinel to know the replica');
  const [a, b] = await startNodes(t, 2, sentinel.url, CONFIG, { redis: { io_timeout: '1s', connect_timeout: '300ms' } });
  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, 'fo:x');

  const ok = [];
  const failed = [];
  let stop = false;
  const publisher = (async () => {
    let n = 0;
    while (!stop) {
      n += 1;
      const r = await b.api('publish', { channel: 'fo:x', data: { n } });
      if (r.json?.result) ok.push({ n, ...r.json.result, at: Date.now() });
      else failed.push({ n, body: r.text, at: Date.now() });
      await sleep(10);
    }
  })();
  await waitUntil(() => ok.length >= 20, 5000, '20 publications before the failover');
  const failoverAt = Date.now();
  assert.equal(await sentinel.failover(), 'OK');
  await sentinel.waitMaster(([, port]) => port === replica.port, 15_000);
  const switchedAt = Date.now();
  await waitUntil(async () => (await master.cli('ROLE'))[0] === 'slave', 15_000, 'the old master to be demoted');
  const demotedAt = Date.now();
  const before = ok.length;
  await waitUntil(() => ok.length >= before + 20, 10_000, 'writes to resume: 20 publications after the demotion');
  const resumedIn = ok[before].at - demotedAt;
  stop = true;
  await publisher;

  // Redis itself loses what the old master accepted between the promotion
  // of the replica and its own demotion (async replication; the spec's
  // "for a short while the old master still ... accepted writes"). Every
  // write acknowledged after the demotion must be on the new master, in one
  // epoch, with increasing offsets.
  const h = await a.api('history', { channel: 'fo:x', limit: -1 });
  assert.ok(h.json?.result, h.text);
  const stored = new Map(h.json.result.publications.map((p) => [p.offset, p.data.n]));
  const afterDemotion = ok.filter((x) => x.at > demotedAt);
  for (let i = 1; i < afterDemotion.length; i++) {
    assert.ok(afterDemotion[i].offset > afterDemotion[i - 1].offset, 'offsets increase after the demotion');
  }
  for (const x of afterDemotion) {
    assert.equal(stored.get(x.offset), x.n, `publication n=${x.n} acknowledged as offset ${x.offset} after the demotion is in the new master's history`);
  }
  assert.equal(new Set(ok.map((x) => x.epoch)).size, 1, 'one epoch across the failover');
  const lost = ok.filter((x) => stored.get(x.offset) !== x.n);
  const lastBad = lost.length ? lost[lost.length - 1].at : null;
  t.diagnostic(
    `failover: sentinel switched ${switchedAt - failoverAt} ms after SENTINEL FAILOVER, old master demoted ` +
      `${demotedAt - failoverAt} ms after; ${failed.length} publishes failed; ${lost.length} acknowledged ` +
      `publications lost (offsets ${lost.map((x) => x.offset).join(',') || '-'}), the last one acknowledged ` +
      `${lastBad === null ? '-' : lastBad - failoverAt} ms after SENTINEL FAILOVER; first write after demotion ` +
      `${resumedIn} ms later`,
  );
  assert.ok(resumedIn <= 5000, `writes resumed within a few seconds of the demotion (${resumedIn} ms)`);
  // Delivery resumed: the client gets the last publication.
  const last = afterDemotion[afterDemotion.length - 1];
  await waitUntil(() => w.pubs.some((p) => p.offset === last.offset && p.data.n === last.n), 20_000, 'the subscriber to get the last publication');
  // What the subscriber was left with where Redis rolled back (the same
  // offsets reused in the same epoch: not an assertion, the spec does not
  // ask the engine to detect a rollback).
  const differs = w.pubs.filter((p) => stored.has(p.offset) && stored.get(p.offset) !== p.data.n).map((p) => p.offset);
  const missing = [...stored.keys()].filter((o) => o <= last.offset && !w.pubs.some((p) => p.offset === o));
  t.diagnostic(
    `subscriber: ${w.pubs.length} publications, ${differs.length} differ from history at their offset ` +
      `(${differs.join(',') || '-'}), ${missing.length} offsets of history never delivered (${missing.join(',') || '-'}); ` +
      `resubscribes: ${w.subscribed.length - 1}`,
  );
});

test('§12.15c Redis Cluster (3 masters): a channel\'s keys share one slot; delivery through other masters', { timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(3);
  t.after(() => cluster.stop());
  await assertAccepted(cluster.url, 'Redis Cluster (redis+cluster://)');

  const [a, b] = await startNodes(t, 2, cluster.url, CONFIG);
  const P = a.prefix;
  const c = sdk(t, a);
  await connect(c);
  const channels = ['chat', 'news', 'a'];
  const watched = {};
  for (const ch of channels) watched[ch] = await watch(c, ch);
  for (let n = 1; n <= 10; n++) for (const ch of channels) assert.equal((await publish(b, ch, { n })).offset, n);
  for (const ch of channels) {
    await watched[ch].pubs.waitForCount(10);
    assert.deepEqual(watched[ch].pubs.map((p) => p.offset), range(1, 10), `${ch} delivered`);
  }
  const owners = new Set();
  for (const ch of channels) {
    const slot = await cluster.keyslot(ch);
    const owner = await cluster.nodeForSlot(slot);
    owners.add(owner.port);
    const found = [];
    for (const node of cluster.nodes) {
      for (const key of await scanKeys(node, `${P}.*`)) {
        if (key.includes(`{${ch}}`)) found.push({ port: node.port, key });
      }
    }
    assert.ok(found.some((f) => f.key === `${P}.stream.{${ch}}`), `stream of ${ch}: ${JSON.stringify(found)}`);
    assert.ok(found.some((f) => f.key === `${P}.stream.meta.{${ch}}`), `meta of ${ch}: ${JSON.stringify(found)}`);
    for (const f of found) {
      assert.equal(f.port, owner.port, `${f.key} on the slot owner`);
      assert.equal(await cluster.keyslot(f.key), slot, `${f.key} in ${ch}'s slot`);
    }
  }
  assert.ok(owners.size >= 2, 'the channels live on different masters');
});

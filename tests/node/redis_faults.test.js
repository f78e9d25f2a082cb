// engine-redis under faults, spec redis-engine.md §12: 10 presence of a
// SIGKILLed node expires by itself (engine.redis.presence_ttl 3s with
// client.presence_update_interval 1s), 12 PUB/SUB connections killed by
// Redis (CLIENT KILL TYPE pubsub) are re-established and clients catch up,
// also on a quiet channel, 13 Redis restart under load (publish fails fast,
// no hang, clients end up on the new epoch), 14 SCRIPT FLUSH every 100 ms
// while publishing (no errors, contiguous offsets).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, startNodes, keysOf } from './lib/redis.js';
import { newCentrifuge, connect, collect, waitFor, waitUntil } from './lib/client.js';
import { keyFor, mint } from './lib/jwt.js';

const TEST_TIMEOUT = 45_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [{ name: 'rec', ...ANON, history_size: 1000, history_ttl: '300s', force_recovery: true, presence: true }],
  },
};

async function withRedis(t, opts) {
  const r = await startRedis(opts);
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

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// A subscription with its publications, subscribed and unsubscribed events.
async function watch(c, channel) {
  const sub = c.newSubscription(channel);
  const pubs = collect(sub);
  const subscribed = collect(sub, 'subscribed');
  const unsubscribed = collect(sub, 'unsubscribed');
  sub.subscribe();
  await subscribed.waitForCount(1);
  return { sub, pubs, subscribed, unsubscribed };
}

// Offsets of `pubs` are exactly 1..last, once each, in order.
function assertContiguous(pubs, last, what) {
  const offs = pubs.map((p) => p.offset);
  assert.deepEqual(offs, range(1, last), `${what}: every offset once, in order (got ${offs.length}: ${summarize(offs)})`);
}

function summarize(offs) {
  const gaps = [];
  for (let i = 1; i < offs.length; i++) if (offs[i] !== offs[i - 1] + 1) gaps.push(`${offs[i - 1]}->${offs[i]}`);
  return gaps.length ? `jumps ${gaps.slice(0, 10).join(', ')}` : `first ${offs[0]}, last ${offs[offs.length - 1]}`;
}

test('§12.10 presence of a SIGKILLed node expires after presence_ttl; while alive it is refreshed', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const key = await keyFor('HS256');
  const config = {
    client: { token: key.config, presence_update_interval: '1s' },
    engine: { redis: { presence_ttl: '3s' } },
    channel: { namespaces: [{ name: 'pres', presence: true, allow_subscribe_for_client: true }] },
  };
  const [a, b] = await startNodes(t, 2, redis, config);
  const ch = 'pres:crash';
  const k = keysOf(a.prefix, ch);
  for (let i = 0; i < 2; i++) {
    const c = sdk(t, a, { token: await mint({ sub: 'U' }, key, { expiresIn: 600 }) });
    await connect(c);
    const sub = c.newSubscription(ch);
    const ok = waitFor(sub, 'subscribed');
    sub.subscribe();
    await ok;
  }
  const stats = async () => (await b.api('presence_stats', { channel: ch })).json?.result;
  const TWO = { num_clients: 2, num_users: 1 };
  await waitUntil(async () => JSON.stringify(await stats()) === JSON.stringify(TWO), 5000, 'node B to see 2 clients / 1 user');
  const ttl = await redis.cli('PTTL', k.presenceData);
  assert.ok(ttl > 0 && ttl <= 3000, `presence hash PTTL <= 3 s (got ${ttl})`);

  // Alive: refreshed every second, so still present well past the 3 s TTL.
  const until = Date.now() + 4500;
  while (Date.now() < until) {
    assert.deepEqual(await stats(), TWO, 'presence must stay while its node is alive and refreshing');
    await sleep(250);
  }

  await a.stop({ signal: 'SIGKILL' });
  const killedAt = Date.now();
  assert.deepEqual(await stats(), TWO, 'right after the crash the entries are still there (nobody removed them)');
  await waitUntil(
    async () => JSON.stringify(await stats()) === JSON.stringify({ num_clients: 0, num_users: 0 }),
    8000,
    'the crashed node\'s presence to expire',
  );
  const gone = Date.now() - killedAt;
  assert.ok(gone <= 4500, `expired within presence_ttl (+ refresh interval) of the crash: ${gone} ms`);
  assert.deepEqual((await b.api('presence', { channel: ch })).json, { result: { presence: {} } });
});

test('§12.12 CLIENT KILL TYPE pubsub during steady publishing: resubscribed within ~1 s, client catches up', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const [a, b] = await startNodes(t, 2, redis, CONFIG);
  const ch = 'rec:kill';
  const k = keysOf(a.prefix, ch);
  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);

  let n = 0;
  let stop = false;
  const errors = [];
  const publisher = (async () => {
    while (!stop) {
      const r = await b.api('publish', { channel: ch, data: { n: n + 1 } });
      if (r.json?.result) n = r.json.result.offset;
      else errors.push(r.text);
      await sleep(2); // steady pace, ~300/s
    }
  })();
  await waitUntil(() => n >= 50, 5000, '50 publications before the kill');
  const killed = await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
  assert.ok(killed >= 2, `killed the PUB/SUB connections of both nodes (${killed})`);
  const t0 = Date.now();
  await waitUntil(
    async () => (await redis.cli('PUBSUB', 'CHANNELS', `${a.prefix}.client.*`)).includes(k.pubsub),
    5000,
    `node A to SUBSCRIBE ${k.pubsub} again`,
  );
  const back = Date.now() - t0;
  await waitUntil(
    async () => (await redis.cli('PUBSUB', 'NUMSUB', `${a.prefix}.control`))[1] >= 2,
    5000,
    'both nodes to subscribe the control channel again',
  );
  t.diagnostic(`PUB/SUB channels back ${back} ms after CLIENT KILL`);
  assert.ok(back <= 1500, `resubscribed within ~1 s (took ${back} ms)`);

  const at = n;
  await waitUntil(() => n >= at + 100, 10_000, '100 publications after the resubscribe');
  stop = true;
  await publisher;
  assert.deepEqual(errors, [], 'publish never failed (the command connection was not killed)');
  const last = n;
  await waitUntil(() => w.pubs.length && w.pubs[w.pubs.length - 1].offset === last, 10_000, `the client to reach offset ${last}`);
  assertContiguous(w.pubs, last, 'after the PUB/SUB reconnect');
  const recovered = w.subscribed.slice(1);
  t.diagnostic(`resubscribes after the kill: ${recovered.length}`);
  assert.ok(recovered.every((s) => s.recovered === true), `every resubscribe recovered: ${JSON.stringify(recovered)}`);
  assert.equal(w.unsubscribed.length, 0, 'the subscription was never ended for good');
});

test('§12.12 quiet channel: a publication missed during a PUB/SUB outage reaches the client without a further publication', { timeout: TEST_TIMEOUT }, async (t) => {
  // Node B (the publisher) logs in as user "pub"; node A as "default". Taking
  // the channel permissions away from "default" keeps A from subscribing
  // again while B publishes: a guaranteed gap on a channel that then stays
  // quiet. Gyre has no periodic position check, so only the engine noticing
  // its own reconnect (spec §6.5, handle_resync) can bring the client up to
  // date.
  const redis = await withRedis(t);
  assert.equal(await redis.cli('ACL', 'SETUSER', 'pub', 'on', '>secret', '~*', '&*', '+@all'), 'OK');
  const prefix = `quiet${process.pid}`;
  const [a] = await startNodes(t, 1, redis, CONFIG, { prefix });
  const [b] = await startNodes(t, 1, `redis://pub:secret@127.0.0.1:${redis.port}`, CONFIG, { prefix });
  const ch = 'rec:quiet';
  const k = keysOf(prefix, ch);
  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);
  await publish(b, ch, { n: 1 });
  await w.pubs.waitForCount(1);

  t.after(() => redis.cli('ACL', 'SETUSER', 'default', 'allchannels').catch(() => {}));
  await redis.cli('ACL', 'SETUSER', 'default', 'resetchannels');
  await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'default');
  await waitUntil(async () => (await redis.cli('PUBSUB', 'NUMSUB', k.pubsub))[1] === 0, 5000, 'node A to lose its subscription');
  const p2 = await publish(b, ch, { n: 2 });
  assert.equal(p2.offset, 2);
  await redis.cli('ACL', 'SETUSER', 'default', 'allchannels');
  await waitUntil(async () => (await redis.cli('PUBSUB', 'NUMSUB', k.pubsub))[1] === 1, 10_000, 'node A to SUBSCRIBE again');
  const back = Date.now();

  await waitUntil(() => w.pubs.length >= 2, 10_000, 'the missed publication (offset 2) to reach the client');
  const delay = Date.now() - back;
  t.diagnostic(`missed publication delivered ${delay} ms after node A subscribed again`);
  assertContiguous(w.pubs, 2, 'quiet channel');
  assert.ok(delay <= 5000, `caught up ${delay} ms after the resubscribe`);
});

test('§12.13 Redis stops under load: publish fails fast (io_timeout), works again after restart, clients move to the new epoch', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const IO_TIMEOUT = 1000;
  const [a, b] = await startNodes(t, 2, redis, CONFIG, { redis: { io_timeout: '1s', connect_timeout: '300ms' } });
  const ch = 'rec:restart';
  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);
  let e1;
  for (let n = 1; n <= 20; n++) e1 = (await publish(b, ch, { n })).epoch;
  await w.pubs.waitForCount(20);

  // Publishing keeps going from both nodes while Redis is down.
  await redis.kill();
  const outage = [];
  const stopAt = Date.now() + 3000;
  while (Date.now() < stopAt) {
    for (const g of [a, b]) {
      const t0 = Date.now();
      const r = await g.api('publish', { channel: ch, data: { during: true } });
      outage.push({ ms: Date.now() - t0, status: r.status, body: r.json });
    }
  }
  assert.ok(outage.length >= 2, 'some publishes were tried during the outage');
  for (const o of outage) {
    assert.equal(o.status, 200, JSON.stringify(o));
    assert.ok(o.body?.error, `publish during the outage must fail: ${JSON.stringify(o)}`);
    assert.ok(o.ms <= IO_TIMEOUT + 1000, `failed within io_timeout: ${JSON.stringify(o)}`);
  }
  assert.equal(a.proc.exitCode, null, 'node A alive');
  assert.equal(b.proc.exitCode, null, 'node B alive');

  await redis.start();
  const first = await waitUntil(
    async () => (await b.api('publish', { channel: ch, data: { n: 'new' } })).json?.result,
    10_000,
    'publish to work again after Redis came back',
  );
  assert.notEqual(first.epoch, e1, 'new epoch (Redis lost everything)');
  assert.equal(first.offset, 1);
  // More publications through node B; the client on A must end up on the new
  // epoch, told it was not recovered, and receive the new publications.
  let last = first;
  const deadline = Date.now() + 10_000;
  while (!w.subscribed.some((s) => s.streamPosition?.epoch === first.epoch)) {
    if (Date.now() > deadline) break;
    last = await publish(b, ch, { n: 'more' });
    await sleep(50);
  }
  const moved = w.subscribed.find((s) => s.streamPosition?.epoch === first.epoch);
  assert.ok(moved, `the client must resubscribe onto the new epoch; subscribed events: ${JSON.stringify(w.subscribed)}`);
  assert.equal(moved.wasRecovering, true);
  assert.equal(moved.recovered, false, 'told it could not recover (new epoch)');
  const tail = await publish(b, ch, { n: 'tail' });
  assert.ok(tail.offset > last.offset);
  await waitUntil(() => w.pubs.some((p) => p.data.n === 'tail'), 5000, 'the client to get live publications of the new epoch');
  assert.equal(w.unsubscribed.length, 0, 'never unsubscribed for good');
});

test('§12.14 SCRIPT FLUSH every 100 ms while two nodes publish with history: no errors, contiguous offsets', { timeout: TEST_TIMEOUT }, async (t) => {
  const redis = await withRedis(t);
  const [a, b] = await startNodes(t, 2, redis, CONFIG);
  const ch = 'rec:flush';
  const c = sdk(t, a);
  await connect(c);
  const w = await watch(c, ch);

  let flushes = 0;
  let flushing = true;
  const flusher = (async () => {
    while (flushing) {
      await redis.cli('SCRIPT', 'FLUSH');
      flushes += 1;
      await sleep(100);
    }
  })();
  const errors = [];
  const offsets = [];
  let done = 0;
  const pub = async (g) => {
    while (done < 600 || flushes < 15) {
      done += 1;
      const r = await g.api('publish', { channel: ch, data: { n: done } });
      if (r.json?.result) offsets.push(r.json.result.offset);
      else errors.push(r.text);
      if (done % 50 === 0) {
        const h = await g.api('history', { channel: ch, limit: 1, reverse: true });
        if (!h.json?.result) errors.push(`history: ${h.text}`);
      }
      await sleep(1);
    }
  };
  await Promise.all([pub(a), pub(b)]);
  flushing = false;
  await flusher;
  assert.ok(flushes >= 15, `SCRIPT FLUSH ran ${flushes} times`);
  assert.deepEqual(errors, [], 'no publish/history errors (NOSCRIPT must fall back to EVAL)');
  offsets.sort((x, y) => x - y);
  assert.deepEqual(offsets, range(1, offsets.length), 'offsets contiguous');
  await waitUntil(() => w.pubs.length >= offsets.length, 10_000, 'the subscriber to get everything');
  assertContiguous(w.pubs, offsets.length, 'subscriber');
});

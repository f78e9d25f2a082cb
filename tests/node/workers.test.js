// Several workers (node.workers): connections are handed out round-robin, so
// consecutive clients live on different event-loop threads. Publications,
// joins and leaves must reach every worker's subscribers exactly once and in
// order, and the server API must see and act on clients of every worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor, collect, waitUntil } from './lib/client.js';
import { rawSubscriber } from './lib/rawws.js';

const TEST_TIMEOUT = 30_000;

for (const workers of [1, 4]) {
  test(`node.workers=${workers}: 600 subscribers get 30 publications once, in order`, { timeout: TEST_TIMEOUT }, async (t) => {
    const server = await startGyre({ client: { insecure: true }, node: { workers } });
    t.after(() => server.stop());
    await server.waitForLog(new RegExp(`, ${workers} workers`));
    const subs = [];
    t.after(() => subs.forEach((s) => s.ws.terminate()));
    for (let i = 0; i < 600; i += 100) {
      subs.push(...(await Promise.all(Array.from({ length: 100 }, () => rawSubscriber(server.wsUrl, 'news')))));
    }
    for (let n = 1; n <= 30; n++) {
      const r = await server.api('publish', { channel: 'news', data: { n } });
      assert.equal(r.status, 200, r.text);
    }
    const expected = Array.from({ length: 30 }, (_, k) => k + 1);
    await waitUntil(() => subs.every((s) => s.got.length >= 30), 10000, 'all deliveries');
    for (const s of subs) assert.deepEqual(s.got.map((d) => d.n), expected);
    const info = await server.api('info', {});
    const node = info.json.result.nodes[0];
    assert.equal(node.num_clients, 600, info.text);
    assert.equal(node.num_subs, 600, info.text);
    assert.equal(node.num_channels, 1, info.text);
  });
}

const ANON = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };
const CONFIG = {
  node: { workers: 3 },
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [
      {
        name: 'room',
        ...ANON,
        presence: true,
        join_leave: true,
        force_push_join_leave: true,
        history_size: 100,
        history_ttl: '300s',
        force_recovery: true,
        allow_publish_for_client: true,
        allow_publish_for_anonymous: true,
      },
    ],
  },
};

async function setup(t, n) {
  const gyre = await startGyre(CONFIG);
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await gyre.stop();
  });
  for (let i = 0; i < n; i++) {
    const c = newCentrifuge(gyre.wsUrl, { minReconnectDelay: 60000, maxReconnectDelay: 60000 });
    clients.push(c);
    const connected = waitFor(c, 'connected');
    c.connect();
    await connected;
  }
  return { gyre, clients };
}

async function subscribeAll(clients, channel) {
  const subs = clients.map((c) => c.newSubscription(channel));
  const ready = subs.map((s) => waitFor(s, 'subscribed'));
  subs.forEach((s) => s.subscribe());
  await Promise.all(ready);
  return subs;
}

test('clients on 3 workers: recoverable stream, client publishes, presence, join/leave, channels and info', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, clients } = await setup(t, 6);
  const subs = await subscribeAll(clients, 'room:a');
  const pubs = subs.map((s) => collect(s, 'publication'));

  // Publications from the API and from a client (on some worker) interleave.
  for (let n = 1; n <= 20; n++) {
    if (n % 2) {
      const r = await gyre.api('publish', { channel: 'room:a', data: { n } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.result.offset, n, r.text);
    } else {
      await subs[n % subs.length].publish({ n });
    }
  }
  await waitUntil(() => pubs.every((p) => p.length >= 20), 10000, 'all publications');
  for (const p of pubs) {
    assert.deepEqual(p.map((e) => e.data.n), Array.from({ length: 20 }, (_, k) => k + 1));
    assert.deepEqual(p.map((e) => e.offset), Array.from({ length: 20 }, (_, k) => k + 1));
  }

  const presence = await gyre.api('presence', { channel: 'room:a' });
  assert.equal(Object.keys(presence.json.result.presence).length, 6, presence.text);
  const ids = new Set(Object.keys(presence.json.result.presence));
  const channels = await gyre.api('channels', {});
  assert.deepEqual(channels.json.result.channels, { 'room:a': { num_clients: 6 } });
  const info = (await gyre.api('info', {})).json.result.nodes[0];
  assert.equal(info.num_clients, 6);
  assert.equal(info.num_subs, 6);
  assert.equal(info.num_channels, 1);

  // A leave on one worker reaches the subscribers of the others.
  const leaves = subs.slice(1).map((s) => waitFor(s, 'leave'));
  const leaver = clients[0];
  subs[0].unsubscribe();
  const left = await Promise.all(leaves);
  for (const ctx of left) assert.ok(ids.has(ctx.info.client), JSON.stringify(ctx));
  await waitUntil(async () => {
    const r = await gyre.api('presence_stats', { channel: 'room:a' });
    return r.json.result.num_clients === 5;
  }, 5000, 'presence without the leaver');
  assert.equal(leaver.state, 'connected');
});

test('API unsubscribe and disconnect act on clients of every worker before they answer', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, clients } = await setup(t, 6);
  const subs = await subscribeAll(clients, 'room:b');
  const unsubscribed = subs.map((s) => waitFor(s, 'unsubscribed'));
  const r = await gyre.api('unsubscribe', { user: '', channel: 'room:b' });
  assert.equal(r.status, 200, r.text);
  // The answer comes after every worker acted: the next request sees it.
  const channels = await gyre.api('channels', {});
  assert.deepEqual(channels.json.result.channels, {}, channels.text);
  for (const ctx of await Promise.all(unsubscribed)) assert.equal(ctx.code, 2000, JSON.stringify(ctx));

  const disconnected = clients.map((c) => waitFor(c, 'disconnected'));
  const d = await gyre.api('disconnect', { user: '' });
  assert.equal(d.status, 200, d.text);
  for (const ctx of await Promise.all(disconnected)) assert.equal(ctx.code, 3503, JSON.stringify(ctx));
  await waitUntil(async () => (await gyre.api('info', {})).json.result.nodes[0].num_clients === 0, 5000, 'no clients');
});

test('SIGTERM with clients on 4 workers: each gets close 3001 "shutdown", exit 0', { timeout: TEST_TIMEOUT }, async (t) => {
  const server = await startGyre({ client: { insecure: true }, node: { workers: 4 } });
  t.after(() => server.stop());
  const subs = await Promise.all(Array.from({ length: 8 }, () => rawSubscriber(server.wsUrl, 'x')));
  const closes = subs.map(
    (s) => new Promise((resolve) => s.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
  );
  const exit = await server.stop({ signal: 'SIGTERM' });
  for (const c of await Promise.all(closes)) assert.deepEqual(c, { code: 3001, reason: 'shutdown' });
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
});

// A store change on a cluster (Redis engine, two nodes, each with its own
// store file as on two machines): `gyre ns set` against node A applies on
// node B within a second through the engine's control channel, B's store
// file keeps it, B's clients stay connected, and a delete travels the same
// way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { collect, connect, newCentrifuge, subscribe, waitUntil } from './lib/client.js';
import { startNodes, startRedis } from './lib/redis.js';
import { runGyre, writeTempConfig } from './lib/server.js';

const OPEN = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

async function apiResult(g, method, params) {
  const r = await g.api(method, params);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('a namespace changed through node A applies on node B within a second', { timeout: 40_000 }, async (t) => {
  const stores = [0, 1].map(() => path.join(writeTempConfig({}).dir, 'gyre.db'));
  const [a, b] = await startNodes(
    t,
    2,
    redis,
    {
      client: { allow_anonymous_connect_without_token: true },
      channel: { namespaces: [{ name: 'chat', ...OPEN }] },
    },
    { perNode: (i) => ({ node: { name: `node-${i}` }, store: { path: stores[i] } }) },
  );
  await waitUntil(async () => (await apiResult(a, 'info', {})).result.nodes.length === 2, 8000, 'two nodes');

  const c = newCentrifuge(b.wsUrl);
  t.after(() => c.disconnect());
  const disconnects = collect(c, 'disconnected');
  await connect(c);
  const sub = await subscribe(c, 'chat:room');
  const pubs = collect(sub, 'publication');
  assert.equal((await apiResult(b, 'publish', { channel: 'chat:room', data: { n: 1 } })).result.offset, undefined);

  const set = await runGyre([
    'ns', 'set', 'chat', JSON.stringify({ ...OPEN, history_size: 10, history_ttl: '60s' }), '-c', a.configFile,
  ]);
  assert.equal(set.code, 0, set.stderr);
  const changedAt = Date.now();
  // Node B: its API publishes with history once the change arrived.
  const offset = await waitUntil(async () => {
    const r = await apiResult(b, 'publish', { channel: 'chat:room', data: { n: 2 } });
    return r.result.offset;
  }, 1000, 'history on node B within a second');
  const ms = Date.now() - changedAt;
  t.diagnostic(`node B applied the change ${ms} ms after the CLI returned`);
  assert.ok(offset >= 1);
  const onB = (await apiResult(b, 'ns_get', { name: 'chat' })).result.item;
  assert.equal(onB.options.history_size, 10, "B's store file has it");
  await b.waitForLog(/store: namespace "chat" set by another node/);
  await pubs.waitForCount(2);
  assert.equal(c.state, 'connected');
  assert.equal(disconnects.length, 0, 'the client on B was not disconnected');

  // A refused change is not sent anywhere; a delete travels like a set.
  const bad = await runGyre(['ns', 'set', 'chat', '{"history_size": 5}', '-c', a.configFile]);
  assert.equal(bad.code, 1);
  const del = await runGyre(['ns', 'delete', 'chat', '-c', a.configFile]);
  assert.equal(del.code, 0, del.stderr);
  await waitUntil(
    async () => (await apiResult(b, 'publish', { channel: 'chat:room', data: {} })).error?.code === 102,
    1000,
    'chat gone on node B',
  );
  assert.deepEqual((await apiResult(b, 'ns_list', {})).result.items, []);
  assert.equal(sub.state, 'subscribed', 'the existing subscription stays');
});

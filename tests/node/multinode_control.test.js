// The control plane between nodes on the Redis engine: `info` lists every
// live node (a SIGKILLed one disappears after ~7 s, a stopped one at once);
// the server API's disconnect, unsubscribe and subscribe called on node A
// act on a client of node B; `channels` sums both nodes (and fails with 100
// when a node that is still listed does not answer); /emulation POSTed to
// node A reaches an http_stream session held by node B.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { connect, newCentrifuge, subscribe, waitFor, waitUntil } from './lib/client.js';
import { startNodes, startRedis } from './lib/redis.js';
import { startGyre } from './lib/server.js';
import { responseStream } from './lib/streams.js';

const TEST_TIMEOUT = 40_000;

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  http_stream: { enabled: true },
  channel: {
    namespaces: [
      {
        name: 'room',
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        allow_publish_for_client: true,
        allow_publish_for_anonymous: true,
      },
    ],
  },
};

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function apiOk(node, method, body) {
  const r = await node.api(method, body);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && r.json.result, `${method}: ${r.text}`);
  return r.json.result;
}

async function nodeIds(node) {
  const { nodes } = await apiOk(node, 'info', {});
  return nodes.map((n) => n.uid);
}

async function ownId(node) {
  return (await nodeIds(node))[0];
}

// Starts `n` nodes on the shared Redis and waits until each lists all.
async function cluster(t, n, config = CONFIG, opts = {}) {
  const nodes = await startNodes(t, n, redis, config, {
    perNode: (i) => ({ node: { name: `node-${i}` } }),
    ...opts,
  });
  for (const g of nodes) g.uid = await ownId(g);
  for (const g of nodes) {
    await waitUntil(async () => (await nodeIds(g)).length === n, 8000, `${n} nodes in info of ${g.uid}`);
  }
  return nodes;
}

// A connected SDK client of `node` (anonymous: user "").
async function client(t, node) {
  const c = newCentrifuge(node.wsUrl);
  t.after(() => c.disconnect());
  const ctx = await connect(c);
  return { c, id: ctx.client };
}

test('info lists both nodes with their counts; a stopped node leaves at once', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const [a, b] = await cluster(t, 2);
  const { c } = await client(t, b);
  await subscribe(c, 'room:info');

  // B's counts reach A with its next heartbeat (every 3 s).
  const seen = await waitUntil(async () => {
    const { nodes } = await apiOk(a, 'info', {});
    const nb = nodes.find((n) => n.uid === b.uid);
    return nb && nb.num_clients === 1 && nb.num_subs === 1 ? nodes : null;
  }, 8000, "B's counts in A's info");
  assert.equal(seen.length, 2);
  assert.equal(seen[0].uid, a.uid, 'this node comes first');
  const nb = seen.find((n) => n.uid === b.uid);
  assert.equal(nb.name, 'node-1');
  assert.match(nb.version, / OSS$/);
  assert.equal(nb.num_users, 1);
  assert.equal(nb.num_channels, 1);
  for (const k of ['num_clients', 'num_users', 'num_channels', 'num_subs'])
    assert.equal(typeof seen[0][k], 'number', k);

  // A graceful stop sends a shutdown message: gone from info at once.
  const d = await startGyre({ ...(await configOf(a)), node: { name: 'node-d' } });
  t.after(() => d.stop());
  const dId = await ownId(d);
  await waitUntil(async () => (await nodeIds(a)).includes(dId), 8000, 'node D in info');
  await d.stop();
  await waitUntil(async () => !(await nodeIds(a)).includes(dId), 1500, 'D gone right after its shutdown');
});

// The config a node was started with, to start another on the same prefix.
async function configOf(node) {
  const { http_server: _h, ...rest } = node.config;
  return rest;
}

test('a SIGKILLed node stays listed for a while, then drops out after ~7 s', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const [a, b] = await cluster(t, 2);
  await b.stop({ signal: 'SIGKILL' });
  const killed = Date.now();
  await sleep(1000);
  assert.ok((await nodeIds(a)).includes(b.uid), 'still listed 1 s after the kill');
  await waitUntil(async () => !(await nodeIds(a)).includes(b.uid), 10_000, 'B dropped from info');
  const after = Date.now() - killed;
  // Its last heartbeat was 0-3 s before the kill; 7 s after it, it is gone.
  assert.ok(after >= 3500 && after <= 9000, `dropped ${after} ms after the kill`);
  assert.deepEqual(await nodeIds(a), [a.uid]);
});

test('API disconnect, unsubscribe and subscribe on node A act on a client of node B', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const [a, b] = await cluster(t, 2);

  // subscribe: a server-side subscription with the data of the call.
  const { c, id } = await client(t, b);
  const serverSub = waitFor(c, 'subscribed');
  await apiOk(a, 'subscribe', { user: '', client: id, channel: 'room:server', data: { hello: 'b' } });
  const s = await serverSub;
  assert.equal(s.channel, 'room:server');
  assert.deepEqual(s.data, { hello: 'b' });
  // It is live: publications reach it.
  const pub = waitFor(c, 'publication');
  await apiOk(a, 'publish', { channel: 'room:server', data: { n: 1 } });
  assert.deepEqual((await pub).data, { n: 1 });

  // unsubscribe: a client-side subscription ends with 2000.
  const sub = await subscribe(c, 'room:client');
  const unsubscribed = waitFor(sub, 'unsubscribed');
  await apiOk(a, 'unsubscribe', { user: '', client: id, channel: 'room:client' });
  const u = await unsubscribed;
  assert.equal(u.code, 2000);
  assert.equal(u.reason, 'server unsubscribe');

  // A user target: every anonymous connection on every node, except the
  // whitelisted one.
  const other = await client(t, a);
  const spared = await client(t, b);
  const gone = [waitFor(c, 'disconnected', 5000), waitFor(other.c, 'disconnected', 5000)];
  let sparedDisconnected = false;
  spared.c.on('disconnected', () => (sparedDisconnected = true));
  await apiOk(a, 'disconnect', {
    user: '',
    whitelist: [spared.id],
    disconnect: { code: 4501, reason: 'bye from A' },
  });
  for (const d of await Promise.all(gone)) {
    assert.equal(d.code, 4501);
    assert.equal(d.reason, 'bye from A');
  }
  await sleep(300);
  assert.equal(sparedDisconnected, false, 'the whitelisted client stays');
});

test('channels sums the counts of both nodes; a node that does not answer fails it', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const [a, b] = await cluster(t, 2);
  const a1 = await client(t, a);
  const b1 = await client(t, b);
  const b2 = await client(t, b);
  await subscribe(a1.c, 'room:both');
  await subscribe(b1.c, 'room:both');
  await subscribe(b2.c, 'room:only-b');
  await subscribe(b2.c, 'room:both');

  const all = await apiOk(a, 'channels', {});
  assert.deepEqual(all.channels, {
    'room:both': { num_clients: 3 },
    'room:only-b': { num_clients: 1 },
  });
  const some = await apiOk(b, 'channels', { pattern: 'room:only*' });
  assert.deepEqual(some.channels, { 'room:only-b': { num_clients: 1 } });
  // An invalid pattern is refused before anyone is asked (100, as Centrifugo).
  const bad = await a.api('channels', { pattern: '[' });
  assert.equal(bad.json?.error?.code, 100, bad.text);

  // B frozen: still listed (its last heartbeat is fresh), but it cannot
  // answer. The survey gives up after 3 s with an internal error rather
  // than answer with half the channels.
  b.proc.kill('SIGSTOP');
  t.after(() => b.proc.kill('SIGCONT'));
  const started = Date.now();
  const frozen = await a.api('channels', {});
  const took = Date.now() - started;
  b.proc.kill('SIGCONT');
  assert.equal(frozen.status, 200);
  assert.deepEqual(frozen.json?.error, { code: 100, message: 'internal server error' }, frozen.text);
  assert.ok(took >= 2500 && took < 6000, `answered after ${took} ms`);
  // Back again: complete answers.
  await waitUntil(async () => {
    const r = await a.api('channels', {});
    return r.json?.result?.channels?.['room:both']?.num_clients === 3;
  }, 10_000, 'channels complete again after SIGCONT');
});

test('/emulation on node A reaches an http_stream session on node B', { timeout: TEST_TIMEOUT }, async (t) => {
  const [a, b] = await cluster(t, 2);
  const open = await fetch(`${b.url}/connection/http_stream`, {
    method: 'POST',
    body: JSON.stringify({ id: 1, connect: {} }),
  });
  assert.equal(open.status, 200);
  const stream = responseStream(open);
  t.after(() => stream.cancel());
  const { connect: reply } = await stream.nextJson();
  assert.equal(reply.node, b.uid, 'the session names its node');
  const { session, node } = reply;

  const emulate = (to, body) =>
    fetch(`${to.url}/emulation`, { method: 'POST', body: JSON.stringify(body) });
  let res = await emulate(a, { session, node, data: JSON.stringify({ id: 2, subscribe: { channel: 'room:emu' } }) });
  assert.equal(res.status, 204);
  const sub = await stream.nextJson();
  assert.equal(sub.id, 2, JSON.stringify(sub));
  assert.ok(sub.subscribe, JSON.stringify(sub));

  // Commands keep their order across the hop: publish, then history of the
  // reply ids in sequence.
  for (let i = 3; i <= 5; i++) {
    res = await emulate(a, { session, node, data: JSON.stringify({ id: i, publish: { channel: 'room:emu', data: { i } } }) });
    assert.equal(res.status, 204);
  }
  const seen = [];
  while (seen.filter((m) => m.id).length < 3) seen.push(await stream.nextPush());
  assert.deepEqual(seen.filter((m) => m.id).map((m) => m.id), [3, 4, 5]);
  const pubs = seen.filter((m) => m.push?.pub).map((m) => m.push.pub.data.i);
  while (pubs.length < 3) {
    const m = await stream.nextPush();
    if (m.push?.pub) pubs.push(m.push.pub.data.i);
  }
  assert.deepEqual(pubs, [3, 4, 5]);

  // A node nobody knows is still a 404; an unknown session on B is ignored.
  res = await emulate(a, { session, node: 'no-such-node', data: '{"id":9}' });
  assert.equal(res.status, 404);
  res = await emulate(a, { session: 'no-such-session', node, data: '{"id":9}' });
  assert.equal(res.status, 204);
});

// The ids of `name`'s PUB/SUB connections, from CLIENT LIST.
async function pubsubConnections(name) {
  const list = await redis.cli('CLIENT', 'LIST');
  return list
    .split('\n')
    .filter((l) => l.includes(` name=${name} `) && / sub=[1-9]/.test(l))
    .map((l) => l.match(/^id=(\d+)/)[1]);
}

test('publications lost while a PUB/SUB connection was down: positioned subscribers recover', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const config = {
    ...CONFIG,
    channel: {
      namespaces: [
        ...CONFIG.channel.namespaces,
        {
          name: 'pos',
          allow_subscribe_for_client: true,
          allow_subscribe_for_anonymous: true,
          history_size: 100,
          history_ttl: '300s',
          force_recovery: true,
        },
      ],
    },
  };
  const [a, b] = await cluster(t, 2, config, {
    perNode: (i) => ({ node: { name: `node-${i}` }, engine: { redis: { client_name: `mn-node-${i}` } } }),
  });
  // A client-side subscription and a server-side one, both on B.
  const { c } = await client(t, b);
  const sub = c.newSubscription('pos:x');
  const pubs = [];
  sub.on('publication', (ctx) => pubs.push(ctx.data.n));
  const events = [];
  sub.on('subscribing', (ctx) => events.push(`subscribing ${ctx.code}`));
  sub.on('subscribed', (ctx) => events.push(`subscribed recovered=${ctx.recovered}`));
  const first = waitFor(sub, 'subscribed');
  sub.subscribe();
  await first;
  events.length = 0;
  const server = await client(t, b);
  const reconnecting = [];
  server.c.on('connecting', (ctx) => reconnecting.push(ctx.code));
  const serverSub = waitFor(server.c, 'subscribed');
  await apiOk(a, 'subscribe', { user: '', client: server.id, channel: 'pos:x' });
  await serverSub;

  await apiOk(a, 'publish', { channel: 'pos:x', data: { n: 1 } });
  await waitUntil(() => pubs.length === 1, 5000, 'publication 1');

  // B frozen, its PUB/SUB connection cut, a publication it cannot see.
  const ids = await pubsubConnections('mn-node-1');
  assert.ok(ids.length > 0, 'B has a PUB/SUB connection');
  b.proc.kill('SIGSTOP');
  t.after(() => b.proc.kill('SIGCONT'));
  for (const id of ids) await redis.cli('CLIENT', 'KILL', 'ID', id);
  await apiOk(a, 'publish', { channel: 'pos:x', data: { n: 2 } });
  b.proc.kill('SIGCONT');

  // B resubscribes, reads the top (offset 2), finds its subscribers at 1:
  // unsubscribe 2500, and the SDK resubscribes and recovers publication 2.
  await waitUntil(() => pubs.includes(2), 10_000, `publication 2 recovered (events: ${events})`);
  assert.deepEqual(pubs, [1, 2]);
  assert.deepEqual(events, ['subscribing 2500', 'subscribed recovered=true']);
  // The server-side subscription cannot be resubscribed by the SDK: 3010.
  await waitUntil(() => reconnecting.includes(3010), 5000, `3010 (codes: ${reconnecting})`);

  // Subscribers that are up to date are left alone by the next check.
  events.length = 0;
  await apiOk(a, 'publish', { channel: 'pos:x', data: { n: 3 } });
  await waitUntil(() => pubs.includes(3), 5000, 'publication 3');
  const again = await pubsubConnections('mn-node-1');
  for (const id of again) await redis.cli('CLIENT', 'KILL', 'ID', id);
  await sleep(2500);
  assert.deepEqual(events, [], 'no resubscribe without a loss');
  assert.deepEqual(pubs, [1, 2, 3]);
});

test('the periodic position check leaves busy, healthy subscriptions alone', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const config = {
    ...CONFIG,
    client: { ...CONFIG.client, channel_position_check_delay: '500ms' },
    channel: {
      namespaces: [
        {
          name: 'pos',
          allow_subscribe_for_client: true,
          allow_subscribe_for_anonymous: true,
          history_size: 1000,
          history_ttl: '300s',
          force_recovery: true,
        },
      ],
    },
  };
  const [a, b] = await cluster(t, 2, config);
  const { c } = await client(t, b);
  const sub = c.newSubscription('pos:busy');
  const pubs = [];
  sub.on('publication', (ctx) => pubs.push(ctx.data.n));
  const events = [];
  sub.on('subscribing', (ctx) => events.push(`subscribing ${ctx.code}`));
  c.on('connecting', (ctx) => events.push(`connecting ${ctx.code} ${ctx.reason}`));
  const first = waitFor(sub, 'subscribed');
  sub.subscribe();
  await first;
  events.length = 0;
  // Publications keep coming from node A while node B checks every 500 ms:
  // its reads of the top often run ahead of what has reached it.
  const total = 300;
  const started = Date.now();
  for (let n = 1; n <= total; n++) {
    await apiOk(a, 'publish', { channel: 'pos:busy', data: { n } });
    if (n % 50 === 0) await sleep(200);
  }
  await waitUntil(() => pubs.length === total, 10_000, `${total} publications (got ${pubs.length})`);
  assert.ok(Date.now() - started > 1500, 'several checks ran meanwhile');
  assert.deepEqual(events, [], 'no subscription was told to recover');
  assert.deepEqual(pubs, Array.from({ length: total }, (_, i) => i + 1));
});

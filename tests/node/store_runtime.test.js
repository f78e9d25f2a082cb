// Changing the store while gyre runs: `gyre ns|proxy|rpc` talk to the
// running server's API (ns_*, proxy_*, rpc_ns_* methods, API key required),
// a change applies to the next command of every connection and disconnects
// nobody, invalid changes are refused with the store unchanged, RPC methods
// are rerouted in one command, a commit by another process (the CLI on the
// file) is picked up within a second, and a store made by the previous Gyre
// (schema 1, tests/fixtures/store-v1.db) is migrated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startBackend } from './lib/backend.js';
import { collect, connect, newCentrifuge, subscribe, waitFor, waitUntil } from './lib/client.js';
import { REPO_ROOT, runGyre, startGyre, writeTempConfig } from './lib/server.js';

const OPEN = { allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true };

function withStore(config) {
  const { dir } = writeTempConfig({});
  return { ...config, store: { path: path.join(dir, 'gyre.db') } };
}

async function cli(g, ...args) {
  const r = await runGyre([...args, '-c', g.configFile]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function apiResult(g, method, params) {
  const r = await g.api(method, params);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// SDK clients that record their disconnects.
function sdkClient(t, g) {
  const c = newCentrifuge(g.wsUrl);
  t.after(() => c.disconnect());
  c.disconnects = collect(c, 'disconnected');
  return c;
}

// The schema version in a sqlite file's header (PRAGMA user_version).
function userVersion(file) {
  return fs.readFileSync(file).readUInt32BE(60);
}

test('gyre ns set enables history on a live namespace: new publications get offsets, nobody disconnects', { timeout: 30_000 }, async (t) => {
  const g = await startGyre(
    withStore({
      client: { allow_anonymous_connect_without_token: true },
      channel: { namespaces: [{ name: 'chat', ...OPEN }] },
    }),
  );
  t.after(() => g.stop());
  const clients = [];
  const subs = [];
  for (let i = 0; i < 5; i++) {
    const c = sdkClient(t, g);
    await connect(c);
    const sub = await subscribe(c, 'chat:room');
    sub.pubs = collect(sub, 'publication');
    clients.push(c);
    subs.push(sub);
  }
  let r = await apiResult(g, 'publish', { channel: 'chat:room', data: { n: 1 } });
  assert.equal(r.result.offset, undefined, 'no history yet');

  const set = await cli(g, 'ns', 'set', 'chat', JSON.stringify({ ...OPEN, history_size: 10, history_ttl: '60s', force_recovery: true }));
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /namespace "chat" set on the running gyre \(http:\/\/127\.0\.0\.1:\d+\/api\), applied on every node/);
  // The CLI returns once every loop of the node runs with the change.
  r = await apiResult(g, 'publish', { channel: 'chat:room', data: { n: 2 } });
  assert.equal(r.result.offset, 1, 'the next publication has an offset');
  assert.ok(r.result.epoch, 'and an epoch');
  for (const sub of subs) {
    const pubs = await sub.pubs.waitForCount(2);
    assert.deepEqual(pubs.map((p) => p.data.n), [1, 2]);
    assert.equal(pubs[1].offset, 1, 'delivered with its offset');
  }
  // A new subscriber can recover from the stream now.
  const late = sdkClient(t, g);
  await connect(late);
  const ls = late.newSubscription('chat:room', { since: { offset: 0, epoch: r.result.epoch } });
  const recovered = new Promise((resolve) => ls.on('subscribed', resolve));
  const latePubs = collect(ls, 'publication');
  ls.subscribe();
  const ctx = await recovered;
  assert.equal(ctx.wasRecovering, true);
  assert.equal(ctx.recovered, true);
  await latePubs.waitForCount(1);
  assert.equal(latePubs[0].data.n, 2);

  const got = await cli(g, 'ns', 'get', 'chat');
  assert.equal(got.code, 0, got.err);
  assert.equal(JSON.parse(got.out).options.history_size, 10);
  // The store file has it too: a restart keeps it.
  const list = await apiResult(g, 'ns_list', {});
  assert.deepEqual(list.result.items.map((i) => i.name), ['chat']);

  // Deleting the namespace: new commands see an unknown channel, existing
  // subscriptions stay.
  const del = await cli(g, 'ns', 'delete', 'chat');
  assert.equal(del.code, 0, del.err);
  r = await apiResult(g, 'publish', { channel: 'chat:room', data: { n: 3 } });
  assert.equal(r.error?.code, 102);
  const other = sdkClient(t, g);
  await connect(other);
  const os = other.newSubscription('chat:room');
  const failed = waitFor(os, 'unsubscribed');
  os.subscribe();
  assert.equal((await failed).code, 102);
  for (const c of clients) {
    assert.equal(c.state, 'connected');
    assert.equal(c.disconnects.length, 0, 'nobody was disconnected');
  }
  for (const s of subs) assert.equal(s.state, 'subscribed');
});

test('store API methods need the key, refuse invalid changes with the reason and leave the store unchanged', { timeout: 30_000 }, async (t) => {
  const g = await startGyre(withStore({ channel: { namespaces: [{ name: 'chat', presence: true }] } }));
  t.after(() => g.stop());
  const noKey = await g.api('ns_list', {}, { key: null });
  assert.equal(noKey.status, 401);
  const before = await apiResult(g, 'ns_get', { name: 'chat' });
  assert.equal(before.result.item.options.presence, true);

  const bad = [
    ['ns_set', { name: 'chat', options: { history_size: 10 } }, /history_size and history_ttl must be set together/],
    ['ns_set', { name: 'chat', options: { publish_proxy_enabled: true, publish_proxy_name: 'nope' } }, /no proxy "nope"/],
    ['ns_set', { name: 'chat', options: { name: 'other' } }, /names "other"/],
    ['ns_set', { name: 'chat', options: [1] }, /options must be a JSON object/],
    ['ns_set', { name: 'b!d', options: {} }, /must match/],
    ['ns_set', { options: {} }, /name is required/],
    ['ns_delete', { name: 'nosuch' }, /no namespace "nosuch"/],
    ['ns_get', { name: 'nosuch' }, /no namespace "nosuch"/],
    ['proxy_set', { name: 'pp', options: { endpoint: 'ftp://x' } }, /proxy "pp": endpoint/],
    ['rpc_ns_set', { name: 'billing', options: { proxy_enabled: true, proxy_name: 'nope' } }, /no proxy "nope"/],
  ];
  for (const [method, params, re] of bad) {
    const r = await apiResult(g, method, params);
    assert.equal(r.error?.code, 107, `${method} ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
    assert.match(r.error.message, re, method);
  }
  const wrongType = await g.api('ns_get', { name: 5 });
  assert.equal(wrongType.status, 400);
  const after = await apiResult(g, 'ns_get', { name: 'chat' });
  assert.deepEqual(after.result, before.result, 'chat unchanged');
  assert.deepEqual((await apiResult(g, 'proxy_list', {})).result.items, []);
  assert.deepEqual((await apiResult(g, 'rpc_ns_list', {})).result.items, []);
  // Setting the same options again changes nothing.
  const same = await apiResult(g, 'ns_set', { name: 'chat', options: { name: 'chat', presence: true } });
  assert.equal(same.result.changed, true, 'JSON text differs from the seeded one: written once');
  const again = await apiResult(g, 'ns_set', { name: 'chat', options: { name: 'chat', presence: true } });
  assert.equal(again.result.changed, false);
  // The CLI passes the refusal on with exit 1.
  const r = await cli(g, 'ns', 'set', 'chat', '{"history_size": 10}');
  assert.equal(r.code, 1);
  assert.match(r.err, /refused, the store is unchanged: .*history_size and history_ttl/);
});

test('without store.path the store methods answer 108 not available', { timeout: 30_000 }, async (t) => {
  const g = await startGyre({});
  t.after(() => g.stop());
  const r = await apiResult(g, 'ns_list', {});
  assert.equal(r.error?.code, 108);
  assert.match(r.error.message, /store\.path/);
});

test('an RPC method is rerouted to another backend in one command', { timeout: 30_000 }, async (t) => {
  const a = await startBackend(() => ({ json: { result: { data: { from: 'a' } } } }));
  const b = await startBackend(() => ({ json: { result: { data: { from: 'b' } } } }));
  t.after(() => a.close());
  t.after(() => b.close());
  const g = await startGyre(
    withStore({
      client: { allow_anonymous_connect_without_token: true },
      proxies: [
        { name: 'pa', endpoint: a.url('/rpc'), timeout: '2s' },
        { name: 'pb', endpoint: b.url('/rpc'), timeout: '2s' },
      ],
      rpc: { namespaces: [{ name: 'billing', proxy_enabled: true, proxy_name: 'pa' }] },
    }),
  );
  t.after(() => g.stop());
  const c = sdkClient(t, g);
  await connect(c);
  assert.deepEqual((await c.rpc('billing:charge', {})).data, { from: 'a' });
  const r = await cli(g, 'rpc', 'set', 'billing', '{"proxy_enabled": true, "proxy_name": "pb"}');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /RPC namespace "billing" set on the running gyre/);
  assert.deepEqual((await c.rpc('billing:charge', {})).data, { from: 'b' });
  // A new RPC namespace, and a proxy's endpoint changed in place.
  assert.equal((await cli(g, 'rpc', 'set', 'shop', '{"proxy_enabled": true, "proxy_name": "pa"}')).code, 0);
  assert.deepEqual((await c.rpc('shop:buy', {})).data, { from: 'a' });
  const moved = await cli(g, 'proxy', 'set', 'pa', JSON.stringify({ endpoint: b.url('/moved'), timeout: '2s' }));
  assert.equal(moved.code, 0, moved.err);
  assert.deepEqual((await c.rpc('shop:buy', {})).data, { from: 'b' });
  assert.equal(b.requests.at(-1).path, '/moved');
  // A proxy still in use cannot go.
  const del = await cli(g, 'proxy', 'delete', 'pb');
  assert.equal(del.code, 1);
  assert.match(del.err, /RPC namespace "billing".*no proxy "pb"/);
  assert.equal(c.state, 'connected');
});

test('a commit by another process (the CLI on the file) reaches a running gyre within a second', { timeout: 30_000 }, async (t) => {
  const g = await startGyre(withStore({ channel: { namespaces: [{ name: 'chat' }] } }));
  t.after(() => g.stop());
  const r = await runGyre(['ns', 'set', 'news', '{}', '-c', g.configFile, '--store', g.config.store.path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /namespace "news" added in .*gyre\.db/);
  const started = Date.now();
  await waitUntil(
    async () => (await g.api('publish', { channel: 'news:x', data: {} })).json.error === undefined,
    3000,
    'news usable',
  );
  const ms = Date.now() - started;
  assert.ok(ms < 2000, `applied after ${ms} ms`);
  await g.waitForLog(/changed by another process: applied/);
});

test('a store written by the previous Gyre (schema 1) is migrated: its items kept, RPC namespaces seeded once', { timeout: 30_000 }, async (t) => {
  const { dir } = writeTempConfig({});
  const store = path.join(dir, 'store.db');
  fs.copyFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'store-v1.db'), store);
  assert.equal(userVersion(store), 1);
  const backend = await startBackend(() => ({ json: { result: { data: { ok: true } } } }));
  t.after(() => backend.close());
  const config = {
    client: { allow_anonymous_connect_without_token: true },
    store: { path: store },
    // What the config file says now; the fixture's store has feed and news,
    // not chat, and a proxy "backend" whose endpoint points nowhere.
    channel: { namespaces: [{ name: 'chat' }] },
    proxies: [{ name: 'backend', endpoint: backend.url('/rpc') }],
    rpc: { namespaces: [{ name: 'billing', proxy_enabled: true, proxy_name: 'backend' }] },
  };
  const g = await startGyre(config);
  t.after(() => g.stop());
  await g.waitForLog(/store .*store\.db: 2 namespaces, 1 proxies, 1 RPC namespaces .*RPC namespaces seeded now/);
  assert.equal(userVersion(store), 2, 'migrated to schema 2');
  const ns = (await apiResult(g, 'ns_list', {})).result.items.map((i) => i.name);
  assert.deepEqual(ns, ['feed', 'news'], 'the namespaces of the old store, not the config file');
  const feed = (await apiResult(g, 'ns_get', { name: 'feed' })).result.item;
  assert.equal(feed.options.history_size, 10);
  assert.equal(feed.updated_at, 1796245801, 'kept as written by the old Gyre');
  const pub = await apiResult(g, 'publish', { channel: 'feed:x', data: {} });
  assert.equal(pub.result.offset, 1, "feed's history works");
  assert.equal((await apiResult(g, 'publish', { channel: 'chat:x', data: {} })).error?.code, 102);
  const rpc = (await apiResult(g, 'rpc_ns_list', {})).result.items.map((i) => i.name);
  assert.deepEqual(rpc, ['billing'], 'rpc.namespaces seeded from the config file');
  // The old store's proxy (port 9) is what RPC uses: the store wins.
  const c = sdkClient(t, g);
  await connect(c);
  await assert.rejects(c.rpc('billing:x', {}), (e) => e.code === 100);
  // Seeded once: a restart with other rpc.namespaces keeps the store's.
  await g.stop();
  const g2 = await startGyre({ ...config, rpc: { namespaces: [] } });
  t.after(() => g2.stop());
  assert.deepEqual((await apiResult(g2, 'rpc_ns_list', {})).result.items.map((i) => i.name), ['billing']);
});

test('commands in flight keep the rules they started with while the namespace and its proxy are replaced', { timeout: 30_000 }, async (t) => {
  const backend = await startBackend(() => ({ delayMs: 400, json: { result: {} } }));
  t.after(() => backend.close());
  const g = await startGyre(
    withStore({
      client: { allow_anonymous_connect_without_token: true },
      proxies: [{ name: 'slow', endpoint: backend.url('/subscribe'), timeout: '3s' }],
      channel: {
        namespaces: [{ name: 'chat', subscribe_proxy_enabled: true, subscribe_proxy_name: 'slow' }],
      },
    }),
  );
  t.after(() => g.stop());
  const clients = [];
  const subscribed = [];
  for (let i = 0; i < 10; i++) {
    const c = sdkClient(t, g);
    await connect(c);
    const sub = c.newSubscription(`chat:r${i}`);
    subscribed.push(waitFor(sub, 'subscribed', 10_000));
    sub.subscribe();
    clients.push(c);
  }
  await backend.waitForRequests(10, { path: '/subscribe' });
  // While the backend holds all ten: the namespace drops the proxy and the
  // proxy goes, many times over.
  for (let i = 0; i < 10; i++) {
    let r = await apiResult(g, 'ns_set', { name: 'chat', options: { ...OPEN, presence: i % 2 === 0 } });
    assert.equal(r.error, undefined, JSON.stringify(r));
    r = await apiResult(g, 'proxy_delete', { name: 'slow' });
    assert.equal(r.error, undefined, JSON.stringify(r));
    r = await apiResult(g, 'proxy_set', { name: 'slow', options: { endpoint: backend.url('/other'), timeout: '1s' } });
    assert.equal(r.error, undefined, JSON.stringify(r));
  }
  await Promise.all(subscribed);
  assert.equal(backend.requests.filter((q) => q.path === '/subscribe').length, 10);
  // New subscribes follow the new rules: no proxy call.
  const c = sdkClient(t, g);
  await connect(c);
  await subscribe(c, 'chat:new');
  assert.equal(backend.requests.filter((q) => q.path === '/other').length, 0);
  for (const x of clients) assert.equal(x.disconnects.length, 0);
});

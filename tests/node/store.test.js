// The sqlite store (store.path): seeded from the config file on the first
// run, the source of namespaces and proxies afterwards; `gyre ns` / `gyre
// proxy` change it, refuse invalid changes (store unchanged), and a
// corrupted or foreign file stops gyre with a clear error while the config
// file stays as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startGyre, runGyre, writeTempConfig, freePort } from './lib/server.js';

const BASE = {
  http_api: { key: 'test-key' },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
  proxies: [{ name: 'billing', endpoint: 'http://127.0.0.1:9/b' }],
};

// The CLI reads `file`; its port is one nothing listens on (no server runs
// there), so the CLI works on the store file.
async function storeSetup(extra = {}) {
  const { dir, file } = writeTempConfig({});
  const store = path.join(dir, 'gyre.db');
  const config = { ...BASE, ...extra, store: { path: store }, http_server: { address: '127.0.0.1', port: await freePort() } };
  fs.writeFileSync(file, JSON.stringify(config));
  return { dir, file, store, config };
}

async function cli(file, ...args) {
  const r = await runGyre([...args, '-c', file]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function publishOffset(g, channel) {
  const r = await g.api('publish', { channel, data: { x: 1 } });
  return r.json;
}

test('first run seeds the store from the config; later the store wins over the config file', async (t) => {
  const s = await storeSetup();
  const { http_server: _port, ...serverConfig } = s.config;
  const g = await startGyre(serverConfig, { cwd: s.dir });
  t.after(() => g.stop());
  await g.waitForLog(/seeded from the config file \(1 namespaces, 1 proxies, 0 RPC namespaces\)/);
  assert.equal((await publishOffset(g, 'chat:x')).result?.offset, undefined, 'no history in chat yet');
  assert.equal((await publishOffset(g, 'news:x')).error?.code, 102, 'no namespace news');
  await g.stop();

  const list = await cli(s.file, 'ns', 'list');
  assert.equal(list.code, 0, list.err);
  assert.deepEqual(JSON.parse(list.out).map((n) => n.name), ['chat']);

  // Enable history on chat and add news through the CLI.
  let r = await cli(s.file, 'ns', 'set', 'chat', '{"history_size": 10, "history_ttl": "60s"}');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /namespace "chat" updated/);
  r = await cli(s.file, 'ns', 'set', 'news', '{}');
  assert.equal(r.code, 0, r.err);
  // The config file still lists only chat, without history: it is not used now.
  const g2 = await startGyre(serverConfig, { cwd: s.dir });
  t.after(() => g2.stop());
  await g2.waitForLog(/store .*gyre\.db: 2 namespaces, 1 proxies, 0 RPC namespaces/);
  assert.equal((await publishOffset(g2, 'chat:x')).result?.offset, 1, 'history from the store');
  assert.equal((await publishOffset(g2, 'news:x')).error, undefined, 'news from the store');
  assert.deepEqual(JSON.parse(fs.readFileSync(s.file, 'utf8')).channel, BASE.channel, 'config file untouched');
});

test('invalid changes are refused with a message and leave the store unchanged', async () => {
  const s = await storeSetup();
  let r = await cli(s.file, 'ns', 'list'); // seeds
  assert.equal(r.code, 0, r.err);
  const before = (await cli(s.file, 'ns', 'get', 'chat')).out;
  const bad = [
    [['ns', 'set', 'chat', '{"history_size": 10}'], /history_size and history_ttl must be set together/],
    [['ns', 'set', 'chat', '{"history_size": "x"}'], /namespace "chat"/],
    [['ns', 'set', 'chat', 'not json'], /JSON object/],
    [['ns', 'set', 'chat', '{"name": "other"}'], /names "other"/],
    [['ns', 'set', 'b!d', '{}'], /must match/],
    [['ns', 'set', 'chat', '{"publish_proxy_enabled": true, "publish_proxy_name": "nosuch"}'], /no proxy "nosuch"/],
    [['ns', 'delete', 'nosuch'], /no namespace "nosuch"/],
    [['proxy', 'set', 'billing', '{"endpoint": ""}'], /endpoint: required/],
  ];
  for (const [args, re] of bad) {
    r = await cli(s.file, ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out} ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  assert.equal((await cli(s.file, 'ns', 'get', 'chat')).out, before, 'chat unchanged');
  assert.deepEqual(JSON.parse((await cli(s.file, 'ns', 'list')).out).map((n) => n.name), ['chat']);
  // A proxy a namespace uses cannot be deleted; once unused it can.
  r = await cli(s.file, 'ns', 'set', 'chat', '{"publish_proxy_enabled": true, "publish_proxy_name": "billing"}');
  assert.equal(r.code, 0, r.err);
  r = await cli(s.file, 'proxy', 'delete', 'billing');
  assert.equal(r.code, 1);
  assert.match(r.err, /no proxy "billing"/);
  r = await cli(s.file, 'ns', 'delete', 'chat');
  assert.equal(r.code, 0, r.err);
  r = await cli(s.file, 'proxy', 'delete', 'billing');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse((await cli(s.file, 'proxy', 'list')).out), []);
});

test('a corrupted or foreign store file stops gyre with a clear error; the config file stays', async () => {
  for (const [label, content] of [
    ['corrupted', 'SQLite format 3\0 but then garbage '.repeat(200)],
    ['text', 'just text\n'],
  ]) {
    const s = await storeSetup();
    fs.writeFileSync(s.store, content);
    const configBefore = fs.readFileSync(s.file, 'utf8');
    const { http_server: _port, ...serverConfig } = s.config;
    await assert.rejects(startGyre(serverConfig, { cwd: s.dir, timeoutMs: 5000 }), (e) => {
      assert.match(e.message, /store .*gyre\.db: .*(not a database|malformed|corrupt)/i, label);
      return true;
    });
    assert.equal(fs.readFileSync(s.file, 'utf8'), configBefore, `${label}: config file unchanged`);
    assert.equal(fs.readFileSync(s.store, 'utf8'), content, `${label}: store file left as it was`);
    const r = await cli(s.file, 'ns', 'list');
    assert.equal(r.code, 1);
    assert.match(r.err, /gyre\.db/);
  }
});

test('no store.path: namespaces come from the config file and gyre ns says there is no store', async () => {
  const { file } = writeTempConfig(BASE);
  const r = await cli(file, 'ns', 'list');
  assert.equal(r.code, 1);
  assert.match(r.err, /no store/);
  const h = await runGyre(['ns', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /gyre ns +list/);
});

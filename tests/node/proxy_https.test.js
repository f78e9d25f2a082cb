// Proxies to https:// backends (server-api spec §5, a proxy's `http.tls`,
// whose fields are spec §3.1's TLS object): lib/backend.js as a node:https
// server with the certificates of tests/fixtures/tls (a test CA, a backend
// certificate for 127.0.0.1/localhost/backend.test, a client certificate).
//
// What is checked: the connect and RPC proxies over TLS with the CA given as
// a file path, as inline PEM and as base64 PEM; an untrusted certificate, a
// wrong name and a plain-HTTP backend fail the call cleanly (error 100, the
// reason logged, other clients unharmed); insecure_skip_verify; server_name;
// mutual TLS (the backend sees gyre's certificate; without one the backend
// refuses); keep-alive (many calls, few handshakes) and a fresh handshake
// after the backend drops its connections; unusable TLS settings make gyre
// refuse to start with the option named, and a store change (proxy_set)
// with them is refused while a good one takes effect for the next call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { REPO_ROOT, runGyre, startGyre, writeTempConfig } from './lib/server.js';
import { newCentrifuge, waitFor } from './lib/client.js';
import { startBackend } from './lib/backend.js';

const TEST_TIMEOUT = 30_000;
const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'tls');
const file = (name) => path.join(FIXTURES, name);
const read = (name) => fs.readFileSync(file(name), 'utf8');

const SERVER_TLS = { key: read('server.key'), cert: read('server.pem') };
const CA_FILE = file('ca.pem');
// A passphrase-protected key: refused, never prompted for.
const ENCRYPTED_KEY = crypto.generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

// The backend's answers: /connect lets user 56 in, /rpc echoes who asked.
function handler(req) {
  if (req.path === '/connect') return { json: { result: { user: '56' } } };
  if (req.path === '/rpc') return { json: { result: { data: { method: req.body?.method, peer: req.peerCN ?? null } } } };
  return { status: 404, body: 'no route' };
}

// Anonymous clients call RPCs through the proxy at `endpoint` with `tls`.
function rpcConfig(endpoint, tls) {
  return {
    client: { allow_anonymous_connect_without_token: true },
    rpc: {
      proxy: { endpoint, timeout: '2s', ...(tls === undefined ? {} : { http: { tls } }) },
      without_namespace: { proxy_enabled: true },
    },
  };
}

// A gyre with `config`, and SDK clients that are closed when the test ends.
async function setup(t, config) {
  const clients = [];
  const gyre = await startGyre(config);
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await gyre.stop();
  });
  const mk = () => {
    const c = newCentrifuge(gyre.wsUrl, { minReconnectDelay: 100, maxReconnectDelay: 300 });
    clients.push(c);
    return c;
  };
  const connected = async () => {
    const c = mk();
    const ok = waitFor(c, 'connected');
    c.connect();
    await ok;
    return c;
  };
  return { gyre, mk, connected };
}

async function backend(t, tls = SERVER_TLS) {
  const b = await startBackend(handler, { tls });
  t.after(() => b.close());
  return b;
}

async function rpcError(c, method = 'm') {
  try {
    const r = await c.rpc(method, {});
    return { resolved: r };
  } catch (e) {
    return e;
  }
}

test('rpc over https: the CA as a file path, as inline PEM and as base64 PEM', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  const pem = read('ca.pem');
  for (const server_ca_pem of [CA_FILE, pem, Buffer.from(pem).toString('base64')]) {
    const { connected, gyre } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem }));
    const c = await connected();
    const r = await c.rpc('getPrice', {});
    assert.deepEqual(r.data, { method: 'getPrice', peer: null });
    c.disconnect();
    await gyre.stop();
  }
  assert.equal(b.requestsTo({ path: '/rpc' }).length, 3);
});

test('connect proxy over https: the SDK connects as the backend says', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  const { connected } = await setup(t, {
    client: {
      proxy: { connect: { enabled: true, endpoint: b.url('/connect'), timeout: '2s', http: { tls: { enabled: true, server_ca_pem: CA_FILE } } } },
    },
  });
  const c = await connected();
  assert.equal(c.state, 'connected');
  const reqs = await b.waitForRequests(1, { path: '/connect' });
  assert.equal(reqs[0].body.transport, 'websocket');
  assert.equal(reqs[0].headers.host, `127.0.0.1:${b.port}`);
});

test('https: an untrusted certificate → error 100, the reason logged, the backend never sees a request', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  // No server_ca_pem: the system's CAs, which do not include the test CA.
  const { connected, gyre } = await setup(t, rpcConfig(b.url('/rpc')));
  const c = await connected();
  const e = await rpcError(c);
  assert.equal(e.code, 100, JSON.stringify(e));
  await gyre.waitForLog(/rpc proxy https:\/\/127\.0\.0\.1:\d+\/rpc: .*TLS: certificate verify failed \(unable to get local issuer certificate\)/);
  assert.equal(b.requestsTo({ path: '/rpc' }).length, 0);
  // The client and the server are fine: a second call fails the same way.
  assert.equal((await rpcError(c)).code, 100);
  assert.equal(c.state, 'connected');
});

test('https: a certificate for another name → error 100; server_name picks the name to check', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  {
    const { connected, gyre } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem: CA_FILE, server_name: 'other.test' }));
    const c = await connected();
    assert.equal((await rpcError(c)).code, 100);
    await gyre.waitForLog(/rpc proxy .*TLS: certificate verify failed \(hostname mismatch\)/);
    await gyre.stop();
  }
  const { connected } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem: CA_FILE, server_name: 'backend.test' }));
  const c = await connected();
  assert.equal((await c.rpc('named', {})).data.method, 'named');
});

test('https: insecure_skip_verify accepts the untrusted certificate', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  const { connected } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, insecure_skip_verify: true }));
  const c = await connected();
  assert.equal((await c.rpc('skip', {})).data.method, 'skip');
  // Without enabled the TLS object is ignored (Centrifugo's rule): verified again.
  const other = await setup(t, rpcConfig(b.url('/rpc'), { insecure_skip_verify: true }));
  const c2 = await other.connected();
  assert.equal((await rpcError(c2)).code, 100);
});

test('https: mutual TLS: the backend sees gyre\'s certificate; without one a backend that requires it refuses', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t, { ...SERVER_TLS, ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true });
  {
    const { connected, gyre } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem: CA_FILE }));
    const c = await connected();
    assert.equal((await rpcError(c)).code, 100);
    await gyre.waitForLog(/rpc proxy .*TLS: .*certificate required/);
    await gyre.stop();
  }
  const { connected } = await setup(
    t,
    rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem: CA_FILE, cert_pem: file('client.pem'), key_pem: read('client.key') }),
  );
  const c = await connected();
  assert.deepEqual((await c.rpc('mtls', {})).data, { method: 'mtls', peer: 'gyre' });
});

test('https: keep-alive: 40 calls from one client share few handshakes; after the backend drops them a new one is made', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  const { connected } = await setup(t, rpcConfig(b.url('/rpc'), { enabled: true, server_ca_pem: CA_FILE }));
  const c = await connected();
  for (let i = 0; i < 40; i++) assert.equal((await c.rpc(`m${i}`, {})).data.method, `m${i}`);
  assert.ok(b.connections <= 2, `40 sequential calls took ${b.connections} TLS handshakes`);
  const before = b.connections;
  b.dropConnections();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await c.rpc('again', {})).data.method, 'again');
  assert.ok(b.connections > before, 'a new TLS connection after the drop');
});

test('https: a plain-HTTP backend and a backend that closes at once → error 100, other clients unharmed', { timeout: TEST_TIMEOUT }, async (t) => {
  const plain = await startBackend(handler);
  t.after(() => plain.close());
  const { connected, gyre } = await setup(t, rpcConfig(plain.url('/rpc').replace('http:', 'https:'), { enabled: true, server_ca_pem: CA_FILE }));
  const c = await connected();
  const c2 = await connected();
  assert.equal((await rpcError(c)).code, 100);
  await gyre.waitForLog(/rpc proxy https:.*: (TLS: |connection refused, reset or closed)/);
  assert.equal(c2.state, 'connected');
  await gyre.stop();

  // A listener that accepts and closes: the handshake dies half-way.
  const closer = net.createServer((s) => s.destroy());
  await new Promise((r) => closer.listen(0, '127.0.0.1', r));
  t.after(() => closer.close());
  const s2 = await setup(t, rpcConfig(`https://127.0.0.1:${closer.address().port}/rpc`, { enabled: true, server_ca_pem: CA_FILE }));
  const c3 = await s2.connected();
  assert.equal((await rpcError(c3)).code, 100);
  await s2.gyre.waitForLog(/rpc proxy https:.*: (TLS: |connection refused, reset or closed)/);
  assert.equal(c3.state, 'connected');
});

test('https config: unusable TLS settings make gyre refuse to start with the option named', { timeout: TEST_TIMEOUT }, async () => {
  const cases = [
    [{ enabled: true, server_ca_pem: '/nonexistent/ca.pem' }, /rpc\.proxy\.http\.tls\.server_ca_pem: .*nonexistent/],
    [{ enabled: true, server_ca_pem: file('server.key') }, /server_ca_pem: no certificate/],
    [{ enabled: true, cert_pem: file('client.pem') }, /tls\.cert_pem: needs key_pem/],
    [{ enabled: true, cert_pem: file('client.pem'), key_pem: file('server.key') }, /tls\.key_pem: does not match cert_pem/],
    [{ enabled: true, cert_pem: file('client.pem'), key_pem: ENCRYPTED_KEY }, /tls\.key_pem: no unencrypted private key/],
    [{ enabled: 'yes' }, /tls\.enabled/],
  ];
  for (const [tls, want] of cases) {
    const cfg = writeTempConfig(rpcConfig('https://127.0.0.1:9/rpc', tls));
    const r = await runGyre(['checkconfig', cfg.file]);
    assert.notEqual(r.code, 0, `${JSON.stringify(tls)} was accepted`);
    assert.match(r.stderr, want);
  }
  const bad = writeTempConfig(rpcConfig('ftp://127.0.0.1/rpc'));
  const r = await runGyre(['checkconfig', bad.file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /must start with http:\/\/ or https:\/\//);
});

test('https at run time: proxy_set with unusable TLS is refused naming the option; a good one serves the next call', { timeout: TEST_TIMEOUT }, async (t) => {
  const b = await backend(t);
  const dir = writeTempConfig({}).dir;
  const { connected, gyre } = await setup(t, {
    store: { path: path.join(dir, 'gyre.db') },
    client: { allow_anonymous_connect_without_token: true },
    proxies: [{ name: 'billing', endpoint: b.url('/rpc').replace('https:', 'http:'), timeout: '1s' }],
    rpc: { namespaces: [{ name: 'bill', proxy_enabled: true, proxy_name: 'billing' }] },
  });
  const c = await connected();
  const bad = await gyre.api('proxy_set', {
    name: 'billing',
    options: { endpoint: b.url('/rpc'), timeout: '1s', http: { tls: { enabled: true, server_ca_pem: '/nonexistent/ca.pem' } } },
  });
  assert.equal(bad.json.error?.code, 107, bad.text);
  assert.match(bad.json.error.message, /http\.tls\.server_ca_pem: .*nonexistent/);
  // Still the plain-HTTP endpoint on a TLS port: fails.
  assert.equal((await rpcError(c, 'bill:x')).code, 100);
  const good = await gyre.api('proxy_set', {
    name: 'billing',
    options: { endpoint: b.url('/rpc'), timeout: '1s', http: { tls: { enabled: true, server_ca_pem: read('ca.pem') } } },
  });
  assert.equal(good.json.error, undefined, good.text);
  assert.deepEqual((await c.rpc('bill:x', {})).data, { method: 'bill:x', peer: null });
  assert.equal(c.state, 'connected');
});

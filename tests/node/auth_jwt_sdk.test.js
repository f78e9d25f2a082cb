// auth-jwt with the real centrifuge SDK and a JWKS endpoint: getToken and
// automatic refresh keep a connection alive past several token lifetimes;
// a subscription token with getToken for a protected channel; an expired
// token without refresh ends as documented; keys from a JWKS served by a
// local HTTP server, a rotated key picked up by its new kid, and cached
// keys serving while the endpoint is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';
import { collect, connect, newCentrifuge, waitFor } from './lib/client.js';
import { keyFor, mint } from './lib/jwt.js';

const TEST_TIMEOUT = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A raw connect: the first reply, or {closed} when the server closes first.
async function connectAs(gyre, t, token) {
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token } });
  try {
    return await ws.nextJson(4000);
  } catch {
    return { closed: await ws.closed };
  }
}

// An SDK client whose getToken mints `claims` tokens living `ttl` s; counts calls.
function refreshingClient(gyre, t, key, claims, ttl, opts = {}) {
  const counter = { calls: 0 };
  const c = newCentrifuge(gyre.wsUrl, {
    ...opts,
    getToken: async () => {
      counter.calls++;
      return mint(claims, key, { expiresIn: ttl });
    },
  });
  t.after(() => c.disconnect());
  return { c, counter };
}

const NAMESPACE = { allow_subscribe_for_client: true, presence: true, allow_presence_for_subscriber: true };

function config(token, client = {}) {
  return {
    client: { token, expired_close_delay: '1s', expired_sub_close_delay: '1s', ...client },
    channel: { without_namespace: NAMESPACE },
  };
}

test('getToken and automatic refresh keep an SDK connection past several token lifetimes', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('ES256');
  const gyre = await startGyre(config(key.config));
  t.after(() => gyre.stop());
  const { c, counter } = refreshingClient(gyre, t, key, { sub: 'refresher' }, 2);
  const reconnects = collect(c, 'connecting');
  await connect(c);
  await sleep(7000);
  assert.equal(c.state, 'connected');
  assert.ok(counter.calls >= 3, `getToken called ${counter.calls} times`);
  assert.equal(reconnects.length, 1, 'the connection was dropped and made again');
});

test('a subscription token with getToken for a protected channel, refreshed past its lifetime', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const gyre = await startGyre(config(key.config));
  t.after(() => gyre.stop());
  const c = newCentrifuge(gyre.wsUrl, { token: await mint({ sub: 'sam' }, key) });
  t.after(() => c.disconnect());
  await connect(c);
  let calls = 0;
  const sub = c.newSubscription('$private', {
    getToken: async (ctx) => {
      calls++;
      return mint({ sub: 'sam', channel: ctx.channel }, key, { expiresIn: 2 });
    },
  });
  const unsubscribed = collect(sub, 'unsubscribed');
  const pubs = collect(sub, 'publication');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  await sleep(5500);
  assert.equal(sub.state, 'subscribed');
  assert.ok(calls >= 3, `sub getToken called ${calls} times`);
  assert.equal(unsubscribed.length, 0);
  assert.equal((await gyre.api('publish', { channel: '$private', data: { x: 1 } })).status, 200);
  await pubs.waitForCount(1);
});

test('an expired token: 109 at connect (the SDK would fetch another); unrefreshed: 3005 after the grace', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const gyre = await startGyre(config(key.config));
  t.after(() => gyre.stop());
  // The SDK asks getToken again after 109 and gets a good token.
  const { c, counter } = refreshingClient(gyre, t, key, { sub: 'late' }, 60, {
    token: await mint({ sub: 'late' }, key, { expiresIn: -5 }),
  });
  const errors = collect(c, 'error');
  await connect(c);
  assert.equal(counter.calls, 1);
  assert.equal(errors[0]?.error?.code, 109, JSON.stringify(errors));
  // A client that never refreshes is closed with 3005 "connection expired".
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: await mint({ sub: 'idle' }, key, { expiresIn: 1 }) } });
  assert.equal((await ws.nextJson()).connect.ttl, 1);
  assert.deepEqual(await ws.closed, { code: 3005, reason: 'connection expired' });
});

test('the server API refresh extends a JWT connection', { timeout: TEST_TIMEOUT }, async (t) => {
  const key = await keyFor('HS256');
  const gyre = await startGyre(config(key.config));
  t.after(() => gyre.stop());
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: await mint({ sub: 'api' }, key, { expiresIn: 1 }) } });
  const { connect: c } = await ws.nextJson();
  const r = await gyre.api('refresh', { user: 'api', client: c.client, expire_at: Math.floor(Date.now() / 1000) + 100 });
  assert.equal(r.status, 200, r.text);
  await sleep(3000);
  assert.equal(ws.closeInfo, null, 'closed although refreshed by the API');
});

// A JWKS endpoint whose keys the test changes, and can take down.
async function jwksServer(keys) {
  const state = { keys, requests: 0, down: false };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (state.down) {
      res.writeHead(503);
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`;
  state.close = () => new Promise((r) => server.close(r));
  return state;
}

test('JWKS: keys by kid, a rotated key picked up, cached keys serving while the endpoint is down', { timeout: TEST_TIMEOUT }, async (t) => {
  const k1 = await keyFor('RS256', 'k1');
  const k2 = await keyFor('ES256', 'k2');
  const k3 = await keyFor('EdDSA', 'k3');
  const jwks = await jwksServer([k1]);
  t.after(() => jwks.close());
  const gyre = await startGyre(config({ jwks_public_endpoint: jwks.url }));
  t.after(() => gyre.stop());
  await gyre.waitForLog(/JWKS: 1 keys/, 3000);
  assert.ok((await connectAs(gyre, t, await mint({ sub: 'a' }, k1))).connect);
  // A static key is not consulted when JWKS is configured; a kid it lacks
  // is refused after one more fetch.
  const before = jwks.requests;
  assert.equal((await connectAs(gyre, t, await mint({ sub: 'b' }, k2))).closed?.code, 3500);
  // Rotation: the endpoint now has k2 and k3. Unknown kids refetch at most
  // every 5 s: wait that out, then k2 is picked up by its kid.
  jwks.keys = [k1, k2, k3];
  await sleep(5200);
  assert.ok((await connectAs(gyre, t, await mint({ sub: 'b' }, k2))).connect, 'the rotated-in key was not picked up');
  assert.ok(jwks.requests > before, 'no refetch for the new kid');
  assert.ok((await connectAs(gyre, t, await mint({ sub: 'c' }, k3))).connect, 'EdDSA from JWKS');
  // A token for k2 with k1's signature: refused.
  const forged = await mint({ sub: 'x' }, { ...k1, kid: 'k2' });
  assert.equal((await connectAs(gyre, t, forged)).closed?.code, 3500);
  // Outage: the cached keys keep serving.
  jwks.down = true;
  await sleep(5200);
  const k4 = await keyFor('RS256', 'k4');
  assert.equal((await connectAs(gyre, t, await mint({ sub: 'd' }, k4))).closed?.code, 3500, 'unknown kid during the outage');
  assert.ok((await connectAs(gyre, t, await mint({ sub: 'e' }, k1))).connect, 'cached key refused during the outage');
  assert.ok((await connectAs(gyre, t, await mint({ sub: 'f' }, k2))).connect);
  await gyre.waitForLog(/JWKS fetch failed \(HTTP status 503\); the keys fetched before keep serving/, 3000);
});

test('JWKS endpoint unreachable at startup: tokens get a temporary error (the SDK retries), never a hang', { timeout: TEST_TIMEOUT }, async (t) => {
  const k1 = await keyFor('RS256', 'k1');
  const gyre = await startGyre(config({ jwks_public_endpoint: 'http://127.0.0.1:9/jwks.json' }, { allow_anonymous_connect_without_token: true }));
  t.after(() => gyre.stop());
  const t0 = Date.now();
  const r = await connectAs(gyre, t, await mint({ sub: 'a' }, k1));
  assert.deepEqual(r.error, { code: 100, message: 'internal server error', temporary: true }, JSON.stringify(r));
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  // Tokenless clients are not held up by the verifier.
  const anon = await openRaw(gyre.wsUrl);
  t.after(() => anon.terminate());
  anon.sendJson({ id: 1, connect: {} });
  assert.ok((await anon.nextJson()).connect);
});

test('a hostile JWKS endpoint (bad chunk sizes, endless chunks) costs a failed fetch, nothing more', { timeout: TEST_TIMEOUT }, async (t) => {
  const net = await import('node:net');
  const bodies = [
    '-4\r\n-4\r\n',                                 // a negative size used to loop forever
    'ffffffffffffffffff\r\nx\r\n',                   // a size past 64 bits
    `${'400\r\n' + 'x'.repeat(0x400) + '\r\n'}`.repeat(2000) + '0\r\n\r\n', // 2 MB: over the limit
  ];
  let n = 0;
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
      const body = bodies[Math.min(n++, bodies.length - 1)];
      sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n${body}`);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const gyre = await startGyre(config({ jwks_public_endpoint: `http://127.0.0.1:${server.address().port}/jwks` }));
  t.after(() => gyre.stop());
  await gyre.waitForLog(/JWKS fetch failed \(malformed, truncated or oversized chunked body\)/, 5000);
  const k1 = await keyFor('RS256', 'k1');
  const r = await connectAs(gyre, t, await mint({ sub: 'a' }, k1));
  assert.equal(r.error?.code, 100, JSON.stringify(r));
  assert.equal((await gyre.api('info', {})).status, 200);
});

test('JWKS over HTTPS: the certificate is verified against the trust store, by IP or name', { timeout: TEST_TIMEOUT }, async (t) => {
  const { execFileSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const https = await import('node:https');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-jwks-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  const k1 = await keyFor('ES256', 'tls1');
  const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [k1.publicJwk] }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `https://127.0.0.1:${server.address().port}/jwks`;
  // Trusted (SSL_CERT_FILE is OpenSSL's trust store override): keys load.
  const trusted = await startGyre(config({ jwks_public_endpoint: url }), { env: { SSL_CERT_FILE: certFile } });
  t.after(() => trusted.stop());
  await trusted.waitForLog(/JWKS: 1 keys/, 4000);
  assert.ok((await connectAs(trusted, t, await mint({ sub: 'tls' }, k1))).connect);
  // Not trusted: the fetch fails on the certificate; with no keys, tokens
  // get the temporary error.
  const untrusted = await startGyre(config({ jwks_public_endpoint: url }), { env: { SSL_CERT_FILE: path.join(dir, 'none.pem') } });
  t.after(() => untrusted.stop());
  await untrusted.waitForLog(/JWKS fetch failed \(TLS: /, 6000);
  assert.equal((await connectAs(untrusted, t, await mint({ sub: 'tls' }, k1))).error?.code, 100);
});

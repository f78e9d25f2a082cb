// Transport hooks (gyre_transport_ops) end to end, with the transport-lines
// test plugin (tests/plugins/transport_lines.c): a plugin WebSocket and the
// SDK's http_stream transport (bidirectional emulation) driven by the real
// centrifuge SDK, a unidirectional stream and plain responses over raw
// HTTP, the emulation endpoint's answers, framings shared by subscribers,
// and a slow stream reader dropped without harm to others.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { load, plugin } from './lib/plugins.js';
import { startGyre } from './lib/server.js';
import { collect, connect, newCentrifuge, subscribe, waitFor, waitUntil } from './lib/client.js';
import { openRaw, rawTcp } from './lib/rawws.js';

const TEST_TIMEOUT = 30_000;

const NAMESPACE = {
  allow_subscribe_for_client: true,
  allow_subscribe_for_anonymous: true,
  allow_publish_for_subscriber: true,
  allow_publish_for_anonymous: true,
  presence: true,
  allow_presence_for_subscriber: true,
  allow_presence_for_anonymous: true,
};

function config(extra = {}) {
  return {
    client: { allow_anonymous_connect_without_token: true },
    channel: { without_namespace: NAMESPACE },
    ...load({ name: 'transport-lines', path: plugin('transport_lines.so') }),
    ...extra,
  };
}

async function setup(t, extra) {
  const gyre = await startGyre(config(extra));
  t.after(() => gyre.stop());
  return gyre;
}

// The body of a chunked HTTP response as far as it arrived: the head, the
// decoded data, and whether the terminating chunk came.
function dechunk(text) {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { head: text, body: '', ended: false };
  const head = text.slice(0, split);
  let rest = text.slice(split + 4);
  let body = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return { head, body, ended: false };
    const len = parseInt(rest.slice(0, eol), 16);
    if (len === 0) return { head, body, ended: true };
    if (rest.length < eol + 2 + len + 2) return { head, body, ended: false };
    body += rest.slice(eol + 2, eol + 2 + len);
    rest = rest.slice(eol + 2 + len + 2);
  }
}

// Opens /t/uni (POST, the connect request as body) on raw TCP; events()
// gives the SSE `data:` payloads parsed so far.
async function openUni(gyre, request = {}) {
  const tcp = await rawTcp(gyre.port);
  const body = JSON.stringify(request);
  await tcp.write(
    `POST /t/uni HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const events = () => {
    const { body: b } = dechunk(tcp.received().toString('utf8'));
    // Complete events only: "data: <json>" then a blank line.
    return [...b.matchAll(/^data: (.*)\n\n/gm)].map((m) => JSON.parse(m[1]));
  };
  const waitEvent = (pred, what, timeoutMs = 5000) =>
    waitUntil(() => events().find(pred), timeoutMs, what);
  return { tcp, events, waitEvent };
}

test('plain responses: status, the plugin\'s headers and body; other paths stay 404', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const r = await fetch(`${gyre.url}/t/plain`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-plain'), 'yes');
  assert.equal(await r.text(), 'plain');
  assert.equal((await fetch(`${gyre.url}/t/elsewhere`)).status, 404);
  const notPost = await fetch(`${gyre.url}/t/stream`);
  assert.equal(notPost.status, 405);
});

test('a plugin WebSocket carries the SDK: connect, subscribe, publications both ways, presence', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const c = newCentrifuge(`ws://127.0.0.1:${gyre.port}/t/ws`);
  t.after(() => c.disconnect());
  await connect(c);
  const sub = await subscribe(c, 'news');
  const pubs = collect(sub, 'publication');
  const r = await gyre.api('publish', { channel: 'news', data: { from: 'api' } });
  assert.equal(r.status, 200, r.text);
  await sub.publish({ from: 'client' });
  await pubs.waitForCount(2);
  assert.deepEqual(pubs.map((p) => p.data), [{ from: 'api' }, { from: 'client' }]);
  const presence = await sub.presence();
  assert.equal(Object.keys(presence.clients).length, 1);
  // The plugin's extra header on the 101.
  const tcp = await rawTcp(gyre.port);
  await tcp.write(
    'GET /t/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  const head = await tcp.readUntil('\r\n\r\n');
  tcp.destroy();
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nX-Lines: 1\r\n/);
  // Its on_close hears the code of a server disconnect.
  const raw = await openRaw(`ws://127.0.0.1:${gyre.port}/t/ws`);
  raw.sendJson({ id: 1, connect: {} });
  const reply = await raw.nextJson();
  assert.ok(reply.connect.client, JSON.stringify(reply));
  assert.equal(reply.connect.session, undefined, 'a plain WebSocket stream has no session');
  const d = await gyre.api('disconnect', { client: reply.connect.client, user: '', disconnect: { code: 4501, reason: 'bye' } });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(await raw.closed, { code: 4501, reason: 'bye' });
  await gyre.waitForLog(/\[transport-lines\] stream closed: 4501 bye/, 2000);
});

test('a plugin WebSocket: a binary message makes the plugin close with 3501', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const raw = await openRaw(`ws://127.0.0.1:${gyre.port}/t/ws`);
  raw.sendJson({ id: 1, connect: {} });
  await raw.nextJson();
  raw.sendBinary(Buffer.from([1, 2, 3]));
  assert.deepEqual(await raw.closed, { code: 3501, reason: 'bad request' });
  // A request that is no upgrade is answered by the host.
  assert.equal((await fetch(`${gyre.url}/t/ws`)).status, 400);
  // A browser's cross-site upgrade is refused as on the server's own
  // endpoint (client.allowed_origins is empty here).
  await assert.rejects(
    openRaw(`ws://127.0.0.1:${gyre.port}/t/ws`, { headers: { Origin: 'http://evil.example' } }),
    (e) => e.statusCode === 403,
  );
});

test('the SDK over http_stream with /t/emulation: session and node, subscribe, publish, presence, disconnect', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const c = newCentrifuge(
    [{ transport: 'http_stream', endpoint: `${gyre.url}/t/stream` }],
    { emulationEndpoint: `${gyre.url}/t/emulation` },
  );
  t.after(() => c.disconnect());
  const ctx = await connect(c);
  assert.equal(ctx.transport, 'http_stream');
  // Commands after connect travel through /t/emulation and session_deliver.
  const sub = await subscribe(c, 'room');
  const pubs = collect(sub, 'publication');
  assert.equal((await gyre.api('publish', { channel: 'room', data: { n: 1 } })).status, 200);
  await sub.publish({ n: 2 });
  await pubs.waitForCount(2);
  assert.deepEqual(pubs.map((p) => p.data), [{ n: 1 }, { n: 2 }]);
  const presence = await sub.presence();
  const [info] = Object.values(presence.clients);
  assert.equal(info.client, ctx.client);
  // The server's disconnect arrives as a push before the stream ends.
  const gone = waitFor(c, 'disconnected');
  const d = await gyre.api('disconnect', { client: ctx.client, user: '', disconnect: { code: 4502, reason: 'done here' } });
  assert.equal(d.status, 200, d.text);
  const g = await gone;
  assert.equal(g.code, 4502);
  assert.equal(g.reason, 'done here');
  await gyre.waitForLog(/\[transport-lines\] stream closed: 4502 done here/, 2000);
});

test('http_stream on the wire: headers, one reply per line in chunks, session/node in the connect reply', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const tcp = await rawTcp(gyre.port);
  t.after(() => tcp.destroy());
  const body = JSON.stringify({ id: 1, connect: { name: 'raw' } });
  await tcp.write(`POST /t/stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const text = await tcp.readUntil(/"connect":\{[^\n]*\}\}\n/);
  const { head, body: got } = dechunk(text);
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\nCache-Control: no-cache\r\n/);
  assert.match(head, /\r\nTransfer-Encoding: chunked/);
  const reply = JSON.parse(got.split('\n')[0]);
  assert.equal(reply.id, 1);
  assert.ok(reply.connect.session, JSON.stringify(reply));
  assert.ok(reply.connect.node, JSON.stringify(reply));
  assert.equal(reply.connect.pong, true);
  // The emulation endpoint's answers: 204 delivered, 204 for an unknown
  // session on this node (ignored), 404 for an unknown node, 400 for junk.
  const post = (b) => fetch(`${gyre.url}/t/emulation`, { method: 'POST', body: typeof b === 'string' ? b : JSON.stringify(b) });
  const { session, node } = reply.connect;
  const ok = await post({ session, node, data: JSON.stringify({ id: 2, presence_stats: { channel: 'x' } }) });
  assert.equal(ok.status, 204);
  assert.equal((await post({ session: 'nope', node, data: '{}' })).status, 204);
  assert.equal((await post({ session, node: 'other-node', data: '{}' })).status, 404);
  assert.equal((await post('not json')).status, 400);
  assert.equal((await fetch(`${gyre.url}/t/emulation`)).status, 405);
  // The delivered command's reply arrives on the stream.
  const after = await tcp.readUntil(/"id":2/);
  const lines = dechunk(after).body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const stats = lines.find((l) => l.id === 2);
  assert.ok(stats, after);
  assert.ok('presence_stats' in stats || 'error' in stats, JSON.stringify(stats));
});

test('unidirectional stream: connect push with session, bare pushes, {} pings without pongs, disconnect push then end', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t, { client: { allow_anonymous_connect_without_token: true, ping_interval: '1s', pong_timeout: '500ms' } });
  const uni = await openUni(gyre);
  t.after(() => uni.tcp.destroy());
  const head = await uni.tcp.readUntil('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\nContent-Type: text\/event-stream\r\n/);
  const connect = await uni.waitEvent((e) => e.connect, 'the connect push');
  assert.ok(connect.connect.client);
  assert.ok(connect.connect.session, JSON.stringify(connect));
  assert.equal(connect.connect.node, undefined, 'node is for emulation only');
  assert.equal(connect.connect.pong, undefined, 'no pong expected from a unidirectional peer');
  // The server subscribes it (a uni client cannot); publications come bare.
  const client = connect.connect.client;
  const s = await gyre.api('subscribe', { channel: 'feed', user: '', client });
  assert.equal(s.status, 200, s.text);
  await uni.waitEvent((e) => e.subscribe, 'the subscribe push');
  assert.equal((await gyre.api('publish', { channel: 'feed', data: { x: 1 } })).status, 200);
  const pub = await uni.waitEvent((e) => e.pub, 'the publication');
  assert.deepEqual(pub, { channel: 'feed', pub: { data: { x: 1 } } });
  // Pings keep coming and, with no pong, the stream stays (3 s > 1 s + 0.5 s).
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(uni.events().filter((e) => Object.keys(e).length === 0).length >= 2, JSON.stringify(uni.events()));
  assert.equal(uni.tcp.isClosed, false);
  const d = await gyre.api('disconnect', { client, user: '', disconnect: { code: 4503, reason: 'over' } });
  assert.equal(d.status, 200, d.text);
  await uni.tcp.closed;
  const { ended } = dechunk(uni.tcp.received().toString('utf8'));
  assert.ok(ended, 'the terminating chunk was sent');
  const last = uni.events().at(-1);
  assert.deepEqual(last, { disconnect: { code: 4503, reason: 'over' } });
});

test('unidirectional sessions take no commands: session_deliver ignores them', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t);
  const uni = await openUni(gyre);
  t.after(() => uni.tcp.destroy());
  const { connect: cp } = await uni.waitEvent((e) => e.connect, 'the connect push');
  const node = (await gyre.api('info', {})).json.result.nodes[0].uid;
  // Its session id is known to the peer; the emulation endpoint must not
  // turn it into a bidirectional client.
  const r = await fetch(`${gyre.url}/t/emulation`, {
    method: 'POST',
    body: JSON.stringify({ session: cp.session, node, data: JSON.stringify({ id: 2, subscribe: { channel: 'sneaky' } }) }),
  });
  assert.equal(r.status, 204);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(uni.events().length, 1, JSON.stringify(uni.events()));
  const ch = await gyre.api('channels', {});
  assert.deepEqual(ch.json.result.channels, {}, ch.text);
});

test('unidirectional stream: a bad connect request ends it with a disconnect push', { timeout: TEST_TIMEOUT }, async (t) => {
  // Without anonymous access a tokenless uni connect is refused: the
  // mapped disconnect travels as the stream's last event.
  const gyre = await startGyre({ ...config(), client: {} });
  t.after(() => gyre.stop());
  const uni = await openUni(gyre, { name: 'curl' });
  await uni.tcp.closed;
  assert.deepEqual(uni.events().at(-1), { disconnect: { code: 3501, reason: 'bad request' } });
});

test('one publication reaches subscribers of every framing on one worker, each in its own form', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t, { node: { workers: 1 } });
  const ws = newCentrifuge(`ws://127.0.0.1:${gyre.port}/t/ws`);
  const hs = newCentrifuge([{ transport: 'http_stream', endpoint: `${gyre.url}/t/stream` }], {
    emulationEndpoint: `${gyre.url}/t/emulation`,
  });
  const builtin = newCentrifuge(gyre.wsUrl);
  t.after(() => [ws, hs, builtin].forEach((c) => c.disconnect()));
  const subs = [];
  for (const c of [ws, hs, builtin]) {
    await connect(c);
    subs.push(collect(await subscribe(c, 'shared'), 'publication'));
  }
  const uni = await openUni(gyre);
  t.after(() => uni.tcp.destroy());
  const { connect: cp } = await uni.waitEvent((e) => e.connect, 'the connect push');
  assert.equal((await gyre.api('subscribe', { channel: 'shared', user: '', client: cp.client })).status, 200);
  await uni.waitEvent((e) => e.subscribe, 'the subscribe push');
  for (let i = 1; i <= 3; i++) await gyre.api('publish', { channel: 'shared', data: { i } });
  for (const s of subs) {
    await s.waitForCount(3);
    assert.deepEqual(s.map((p) => p.data), [{ i: 1 }, { i: 2 }, { i: 3 }]);
  }
  await waitUntil(() => uni.events().filter((e) => e.pub).length === 3, 5000, 'three bare publications');
  assert.deepEqual(
    uni.events().filter((e) => e.pub).map((e) => e.pub.data),
    [{ i: 1 }, { i: 2 }, { i: 3 }],
  );
});

test('a stream reader that stops reading is dropped as slow; another stream keeps receiving', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await setup(t, { client: { allow_anonymous_connect_without_token: true, queue_max_size: 65536 } });
  const stuck = await openUni(gyre);
  const fine = await openUni(gyre);
  t.after(() => {
    stuck.tcp.destroy();
    fine.tcp.destroy();
  });
  const a = (await stuck.waitEvent((e) => e.connect, 'connect push')).connect.client;
  const b = (await fine.waitEvent((e) => e.connect, 'connect push')).connect.client;
  for (const client of [a, b]) await gyre.api('subscribe', { channel: 'flood', user: '', client });
  await stuck.waitEvent((e) => e.subscribe, 'subscribe push');
  await fine.waitEvent((e) => e.subscribe, 'subscribe push');
  // Counting the fine reader's events as they arrive (re-parsing tens of
  // MB after every batch would be slow).
  let fineCount = 0;
  let tail = '';
  fine.tcp.socket.on('data', (d) => {
    const text = tail + d.toString('latin1');
    fineCount += text.split('"pub":').length - 1;
    tail = text.slice(-8);
  });
  stuck.tcp.socket.pause(); // reads nothing from here on
  const numClients = async () => (await gyre.api('info', {})).json.result.nodes[0].num_clients;
  // 10 x 4 KB per call, until the stuck one is gone (loopback buffers absorb
  // several MB first) and a while after.
  const pad = 'x'.repeat(4096);
  let published = 0;
  let droppedAt = 0;
  while (published < 9000 && (!droppedAt || published < droppedAt + 300)) {
    const commands = [];
    for (let i = 0; i < 10; i++) commands.push({ publish: { channel: 'flood', data: { i: published + i, pad } } });
    const r = await gyre.api('batch', { commands });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    published += 10;
    await waitUntil(() => fineCount >= published, 5000, `the fine reader's ${published} publications`);
    if (!droppedAt && published % 50 === 0 && (await numClients()) === 1) droppedAt = published;
  }
  assert.ok(droppedAt > 0, `the stuck reader was never dropped (${published} publications)`);
  await gyre.waitForLog(new RegExp(`client ${a} disconnected: 3008 slow`), 2000);
  assert.equal(fineCount, published);
  assert.equal(fine.tcp.isClosed, false);
  assert.equal(b.length > 0, true);
});

// Bad and hostile input on the transport-sse endpoints: each gets a clear
// HTTP status with a JSON error before any session starts (malformed
// cf_connect, wrong methods, oversize bodies, foreign origins), the
// emulation endpoint answers as Centrifugo does (404 unknown node, 204
// unknown session), CORS preflights pass for allowed origins only, and a
// stream reader that stops reading is dropped as slow without harming the
// others.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { keyFor, mint } from './lib/jwt.js';
import { rawTcp } from './lib/rawws.js';
import { startGyre } from './lib/server.js';
import { responseStream } from './lib/streams.js';

const TEST_TIMEOUT = 30_000;
const ORIGIN = 'https://app.example.com';

const key = await keyFor('HS256');

const CONFIG = {
  client: {
    token: key.config,
    allow_anonymous_connect_without_token: true,
    allowed_origins: [ORIGIN],
  },
  sse: { enabled: true },
  http_stream: { enabled: true, max_request_body_size: 2048 },
  uni_sse: { enabled: true, max_request_body_size: 2048 },
  uni_http_stream: { enabled: true },
  uni_websocket: { enabled: true },
  emulation: { max_request_body_size: 4096 },
  channel: { namespaces: [{ name: 'room', allow_subscribe_for_anonymous: true, allow_subscribe_for_client: true }] },
};

async function server(t, config = CONFIG) {
  const gyre = await startGyre(config);
  t.after(() => gyre.stop());
  return gyre;
}

// A request whose answer must be a plain error: status and JSON {error}.
async function expectError(url, init, status, pattern) {
  const res = await fetch(url, init);
  const text = await res.text();
  assert.equal(res.status, status, `${init?.method || 'GET'} ${url}: ${res.status} ${text}`);
  assert.match(res.headers.get('content-type') || '', /application\/json/);
  const body = JSON.parse(text);
  assert.equal(typeof body.error, 'string');
  if (pattern) assert.match(body.error, pattern);
  return res;
}

const enc = (v) => encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v));

test('sse: cf_connect missing, empty, badly encoded, not JSON, not a connect: 400', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const sse = `${gyre.url}/connection/sse`;
  await expectError(sse, {}, 400, /missing/);
  await expectError(`${sse}?cf_connect=`, {}, 400, /missing/);
  await expectError(`${sse}?cf_connect=%7B%zz`, {}, 400, /percent/);
  await expectError(`${sse}?cf_connect=%7B`, {}, 400, /JSON/);
  await expectError(`${sse}?cf_connect=${enc('{"connect":{}} trailing')}`, {}, 400, /JSON/);
  await expectError(`${sse}?cf_connect=${enc([1, 2])}`, {}, 400, /object/);
  await expectError(`${sse}?cf_connect=${enc({ id: 1, subscribe: { channel: 'x' } })}`, {}, 400, /connect/);
  // uni_sse wants a bare connect request object (missing = {}).
  await expectError(`${gyre.url}/connection/uni_sse?cf_connect=${enc('"str"')}`, {}, 400, /object/);
  // The server is fine afterwards.
  const ok = await fetch(`${sse}?cf_connect=${enc({ id: 1, connect: {} })}`);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const s = responseStream(ok, { framing: 'sse' });
  const reply = await s.nextJson();
  assert.equal(reply.id, 1);
  assert.ok(reply.connect.session && reply.connect.node, JSON.stringify(reply));
  await s.cancel();
});

test('http_stream and emulation: methods, sizes, bodies', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t);
  const hs = `${gyre.url}/connection/http_stream`;
  let res = await expectError(hs, { method: 'GET' }, 405);
  assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
  await expectError(hs, { method: 'POST', body: '' }, 400, /empty/);
  await expectError(hs, { method: 'POST', body: '{"connect":' }, 400, /JSON/);
  await expectError(hs, { method: 'POST', body: JSON.stringify({ connect: {}, pad: 'x'.repeat(2048) }) }, 413);
  await expectError(`${gyre.url}/connection/uni_sse`, { method: 'POST', body: 'x'.repeat(2049) }, 413);
  await expectError(`${gyre.url}/connection/uni_sse`, { method: 'PUT', body: '{}' }, 405);
  await expectError(`${gyre.url}/connection/uni_http_stream`, { method: 'POST', body: '{"token":' }, 400, /JSON/);

  // A real session, for its node and session ids.
  const open = await fetch(hs, { method: 'POST', body: JSON.stringify({ id: 1, connect: {} }) });
  assert.equal(open.status, 200);
  assert.equal(open.headers.get('x-accel-buffering'), 'no');
  assert.match(open.headers.get('cache-control'), /no-cache/);
  const stream = responseStream(open);
  const { connect } = await stream.nextJson();
  const { node, session } = connect;
  assert.ok(node && session);

  const emu = `${gyre.url}/emulation`;
  const post = (body) => fetch(emu, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const cmd = JSON.stringify({ id: 2, subscribe: { channel: 'room:x' } });
  res = await post({ session, node, data: cmd });
  assert.equal(res.status, 204);
  const reply = await stream.nextJson();
  assert.equal(reply.id, 2, 'the reply comes on the stream');
  assert.ok(reply.subscribe, JSON.stringify(reply));

  res = await post({ session: 'no-such-session', node, data: cmd });
  assert.equal(res.status, 204, 'an unknown session on this node is ignored');
  await expectError(emu, { method: 'POST', body: JSON.stringify({ session, node: 'other-node', data: cmd }) }, 404, /node/);
  await expectError(emu, { method: 'POST', body: '{"session":' }, 400, /JSON/);
  await expectError(emu, { method: 'POST', body: JSON.stringify({ session, node }) }, 400);
  await expectError(emu, { method: 'POST', body: JSON.stringify({ session, node, data: { id: 3 } }) }, 400);
  await expectError(emu, { method: 'POST', body: JSON.stringify({ session, node, data: 'x'.repeat(4096) }) }, 413);
  res = await expectError(emu, { method: 'GET' }, 405);
  assert.equal(res.headers.get('allow'), 'POST, OPTIONS');

  // Garbage commands through /emulation end the session as on WebSocket.
  res = await post({ session, node, data: 'not json' });
  assert.equal(res.status, 204);
  assert.deepEqual(await stream.nextJson(), { push: { disconnect: { code: 3501, reason: 'bad request' } } });
  await assert.rejects(stream.nextJson(2000), /ended/);
});

test('CORS: allowed origins get their Origin back, others 403; preflights 204', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  for (const path of ['/connection/http_stream', '/connection/sse', '/emulation', '/connection/uni_sse']) {
    const res = await fetch(`${gyre.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(res.status, 204, path);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN, path);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true', path);
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type', path);
    assert.equal(res.headers.get('access-control-max-age'), '300', path);
    assert.match(res.headers.get('access-control-allow-methods'), /POST/, path);

    await expectError(`${gyre.url}${path}`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } }, 403, /origin/);
  }
  // A stream from the allowed origin carries the headers; a foreign one never starts.
  const ok = await fetch(`${gyre.url}/connection/http_stream`, {
    method: 'POST',
    headers: { Origin: ORIGIN },
    body: JSON.stringify({ id: 1, connect: {} }),
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  await ok.body.cancel();
  await expectError(
    `${gyre.url}/connection/http_stream`,
    { method: 'POST', headers: { Origin: 'https://evil.example' }, body: JSON.stringify({ id: 1, connect: {} }) },
    403,
  );
  await expectError(`${gyre.url}/connection/uni_sse`, { headers: { Origin: 'https://evil.example' } }, 403);
  // uni_websocket: the server's own WebSocket origin check.
  const tcp = await rawTcp(gyre.port);
  await tcp.write(
    'GET /connection/uni_websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\n\r\n',
  );
  assert.match(await tcp.readUntil('\r\n\r\n'), /^HTTP\/1\.1 403/);
  tcp.destroy();
});

test('a uni_http_stream reader that stops reading is dropped as slow; another gets everything', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t, {
    ...CONFIG,
    client: { ...CONFIG.client, queue_max_size: 65536 },
    channel: { namespaces: [{ name: 'feed' }] },
  });
  const token = (user) => mint({ sub: user, channels: ['feed:x'] }, key, { expiresIn: 600 });

  const fastRes = await fetch(`${gyre.url}/connection/uni_http_stream`, {
    method: 'POST',
    body: JSON.stringify({ token: await token('fast') }),
  });
  const fast = responseStream(fastRes);
  assert.ok((await fast.nextJson()).connect);

  const slow = await rawTcp(gyre.port);
  t.after(() => slow.destroy());
  const body = JSON.stringify({ token: await token('slow') });
  await slow.write(
    `POST /connection/uni_http_stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  await slow.readUntil('"connect"');
  slow.socket.pause();

  const numClients = async () => (await gyre.api('info', {})).json.result.nodes[0].num_clients;
  assert.equal(await numClients(), 2);
  const pad = 'x'.repeat(4096);
  let published = 0;
  let got = 0;
  let dropped = 0;
  while (published < 9000 && (!dropped || published < dropped + 200)) {
    const commands = [];
    for (let i = 0; i < 10; i++) commands.push({ publish: { channel: 'feed:x', data: { seq: ++published, pad } } });
    const r = await gyre.api('batch', { commands });
    assert.equal(r.status, 200);
    while (got < published) {
      const m = await fast.nextPush();
      assert.equal(m.pub.data.seq, ++got, 'in order, nothing lost');
    }
    if (!dropped && published % 50 === 0 && (await numClients()) === 1) dropped = published;
  }
  assert.ok(dropped, `never dropped after ${published} publications`);
  t.diagnostic(`slow reader dropped after ${dropped} publications of 4 KB`);

  slow.socket.resume();
  const text = await slow.readUntilClose(10_000);
  assert.ok(text.includes('{"disconnect":{"code":3008,"reason":"slow"}}'), 'ends with the disconnect push');
  assert.ok(text.endsWith('0\r\n\r\n'), 'and a complete chunked body');
  await fast.cancel();
});

// HTTP details: HEAD answers carry no body, Expect: 100-continue is
// answered, and API disconnect codes must be ones a close frame can carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGyre } from './lib/server.js';
import { rawTcp } from './lib/rawws.js';
import { newCentrifuge, waitFor } from './lib/client.js';

test('HEAD /health announces the length but sends no body (keep-alive stays framed)', async (t) => {
  const server = await startGyre({ health: { enabled: true } });
  t.after(() => server.stop());
  const c = await rawTcp(server.port);
  t.after(() => c.socket.destroy());
  await c.write('HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  const text = await c.readUntil(/\r\n\r\n\{\}$/, 3000);
  const heads = text.split('HTTP/1.1 200 OK');
  assert.equal(heads.length, 3, text);
  assert.match(heads[1], /Content-Length: 2\r\n/);
  assert.ok(heads[1].endsWith('\r\n\r\n'), 'the HEAD answer carried a body: ' + JSON.stringify(text));
  assert.ok(heads[2].endsWith('\r\n\r\n{}'));
});

test('Expect: 100-continue gets 100 Continue before the body is sent', async (t) => {
  const server = await startGyre({});
  t.after(() => server.stop());
  const c = await rawTcp(server.port);
  t.after(() => c.socket.destroy());
  const body = '{}';
  await c.write(
    'POST /api/info HTTP/1.1\r\nHost: x\r\nX-API-Key: test-key\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  const first = await c.readUntil(/100 Continue\r\n\r\n/, 3000);
  assert.match(first, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  await c.write(body);
  const all = await c.readUntil(/"nodes"/, 3000);
  assert.match(all, /HTTP\/1\.1 200 OK/);
});

test('API disconnect refuses codes a close frame cannot carry, and sends long reasons whole-charactered', async (t) => {
  const server = await startGyre({ client: { insecure: true } });
  t.after(() => server.stop());
  for (const code of [999, 1005, 2999, 5000, 70000]) {
    const r = await server.api('disconnect', { user: '', disconnect: { code, reason: 'x' } });
    assert.deepEqual(r.json, { error: { code: 107, message: 'bad request' } }, `code ${code}`);
  }
  const client = newCentrifuge(server.wsUrl);
  t.after(() => client.disconnect());
  client.connect();
  await waitFor(client, 'connected');
  const disconnected = waitFor(client, 'disconnected', 5000);
  const reason = 'é'.repeat(100); // 200 bytes: cut to whole characters
  const r = await server.api('disconnect', { user: '', disconnect: { code: 4500, reason } });
  assert.deepEqual(r.json, { result: {} });
  const ctx = await disconnected;
  assert.equal(ctx.code, 4500);
  assert.equal(ctx.reason, 'é'.repeat(61));
});

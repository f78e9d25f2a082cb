// Peers that send but never read, or send absurd input, must not grow the
// server's memory without bound or crash it (review findings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';

function rssKb(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectRaw(server) {
  const c = await openRaw(server.wsUrl);
  c.send('{"connect":{"name":"t"},"id":1}');
  const reply = await c.nextJson();
  assert.equal(reply.id, 1);
  return c;
}

test('a channel name longer than channel.max_length is refused before any regex runs', async (t) => {
  const server = await startGyre({
    client: { insecure: true },
    channel: { namespaces: [{ name: 'rx', channel_regex: '^[a-z0-9_]+$', allow_publish_for_client: true }] },
  });
  t.after(() => server.stop());
  const c = await connectRaw(server);
  c.send(JSON.stringify({ publish: { channel: 'rx:' + 'a'.repeat(30000), data: {} }, id: 2 }));
  assert.deepEqual(await c.nextJson(), { id: 2, error: { code: 107, message: 'bad request' } });
  c.send(JSON.stringify({ presence: { channel: 'rx:' + 'a'.repeat(30000) }, id: 3 }));
  assert.equal((await c.nextJson()).error.code, 107);
  c.send(JSON.stringify({ publish: { channel: 'rx:ok_1', data: {} }, id: 4 }));
  assert.deepEqual(await c.nextJson(), { id: 4, publish: {} });
  assert.equal(server.proc.exitCode, null);
  c.close();
});

test('pipelined HTTP requests whose answers are never read stop being read', async (t) => {
  const server = await startGyre({});
  t.after(() => server.stop());
  const pid = server.proc.pid;
  const before = rssKb(pid);
  const sock = net.connect({ port: server.port, host: '127.0.0.1' });
  sock.on('error', () => {}); // the server is stopped while it is still open
  sock.setMaxListeners(0);
  await new Promise((r) => sock.once('connect', r));
  sock.pause(); // never read the answers
  const chunk = Buffer.from('GET /nope HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));
  const deadline = Date.now() + 4000;
  let sent = 0;
  while (Date.now() < deadline && sent < 200 * 1024 * 1024) {
    if (!sock.write(chunk)) await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(200)]);
    sent += chunk.length;
  }
  await sleep(300);
  const grown = rssKb(pid) - before;
  // Without backpressure the answers to ~tens of MB of requests pile up
  // (hundreds of MB); with it the server holds about its read limit.
  assert.ok(grown < 64 * 1024, `server RSS grew by ${grown} KB after ${sent} bytes of unread requests`);
  const res = await server.api('info', {});
  assert.equal(res.status, 200);
  sock.destroy();
});

function openFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function numClients(server) {
  return (await server.api('info', {})).json.result.nodes[0].num_clients;
}

test('a ping flood from a peer that does not read ends in 3008, not unbounded pongs', async (t) => {
  const server = await startGyre({ client: { insecure: true, queue_max_size: 65536 } });
  t.after(() => server.stop());
  const c = await connectRaw(server);
  c.ws._socket.pause();
  const payload = Buffer.alloc(125, 1);
  const deadline = Date.now() + 8000;
  // Flood until the server gives up on this client (or its memory grows).
  while (Date.now() < deadline && (await numClients(server)) > 0) {
    for (let i = 0; i < 2000; i++) c.ws.ping(payload);
    await sleep(5);
    if (rssKb(server.proc.pid) > 512 * 1024) break;
  }
  assert.ok(rssKb(server.proc.pid) < 512 * 1024, 'server memory grew past 512 MB');
  assert.equal(await numClients(server), 0, 'the flooding client was never disconnected');
  c.ws._socket.resume();
  const info = await Promise.race([c.closed, sleep(10000).then(() => null)]);
  assert.ok(info, 'connection was not closed');
  assert.equal(info.code, 3008);
  assert.equal(info.reason, 'slow');
});

test('a slow reader closed with 3008 does not keep its socket and queue for ever', async (t) => {
  const server = await startGyre({
    client: { insecure: true, queue_max_size: 65536 },
    channel: { without_namespace: {} },
  });
  t.after(() => server.stop());
  const pid = server.proc.pid;
  const baseline = openFds(pid);
  const c = await connectRaw(server);
  t.after(() => c.ws.terminate());
  c.send('{"subscribe":{"channel":"news"},"id":2}');
  assert.equal((await c.nextJson()).id, 2);
  c.ws._socket.pause();
  const data = { p: 'x'.repeat(4000) };
  let disconnected = false;
  for (let i = 0; i < 400 && !disconnected; i++) {
    const cmds = Array.from({ length: 20 }, () => ({ publish: { channel: 'news', data } }));
    await server.api('batch', { commands: cmds });
    disconnected = (await numClients(server)) === 0;
  }
  assert.ok(disconnected, 'the slow client was never disconnected');
  // The peer still does not read, so the close frame cannot get through;
  // the server must still let go of the socket by its close deadline (5 s).
  const deadline = Date.now() + 9000;
  while (Date.now() < deadline && openFds(pid) > baseline) await sleep(200);
  assert.equal(openFds(pid), baseline, 'the server kept the socket of a disconnected slow client');
});

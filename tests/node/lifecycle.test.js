// Process lifecycle (spec server-api.md §8.1) and /health (§6.2): SIGTERM and
// SIGINT disconnect every client with 3001 "shutdown" and exit 0 promptly;
// GET /health answers {} when health.enabled and 404 otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { disconnectAll, newCentrifuge, waitFor } from './lib/client.js';
import { openRaw } from './lib/rawws.js';

// With clients the node waits min(shutdown.timeout, 1 s) for close frames to
// go out; a few seconds is plenty.
const EXIT_WITH_CLIENTS_MS = 4000;
const EXIT_IDLE_MS = 2000;

async function connectedClient(gyre) {
  // Reconnect delays well above the test's span: after 3001 the SDK goes to
  // `connecting` and would otherwise keep retrying against a dead port.
  const c = newCentrifuge(gyre.wsUrl, { minReconnectDelay: 20_000, maxReconnectDelay: 30_000 });
  const connected = waitFor(c, 'connected');
  c.connect();
  await connected;
  return c;
}

async function signalAndWait(gyre, signal, budgetMs) {
  const t0 = Date.now();
  gyre.proc.kill(signal);
  const exit = await gyre.waitExit(budgetMs + 2000);
  const elapsed = Date.now() - t0;
  return { exit, elapsed };
}

test('SIGTERM with two SDK clients: both see 3001 "shutdown", exit 0 within a few seconds', async (t) => {
  const gyre = await startGyre({ client: { insecure: true } });
  t.after(() => gyre.stop());
  t.after(() => disconnectAll());

  const a = await connectedClient(gyre);
  const b = await connectedClient(gyre);
  const info = await gyre.api('info', {});
  assert.equal(info.json?.result?.nodes?.[0]?.num_clients, 2, info.text);

  // 3001 is a reconnect code: the SDK goes straight to `connecting` (it emits
  // `disconnected` only for terminal codes).
  const disconnectedEvents = [];
  for (const c of [a, b]) c.on('disconnected', (ctx) => disconnectedEvents.push(ctx));
  const connectingA = waitFor(a, 'connecting', 5000);
  const connectingB = waitFor(b, 'connecting', 5000);

  const { exit, elapsed } = await signalAndWait(gyre, 'SIGTERM', EXIT_WITH_CLIENTS_MS);
  const [ctxA, ctxB] = await Promise.all([connectingA, connectingB]);
  for (const ctx of [ctxA, ctxB]) {
    assert.equal(ctx.code, 3001, JSON.stringify(ctx));
    assert.equal(ctx.reason, 'shutdown', JSON.stringify(ctx));
  }
  assert.deepEqual(disconnectedEvents, [], 'a 3001 disconnect must not be terminal');

  assert.deepEqual(exit, { code: 0, signal: null }, gyre.stderr());
  assert.ok(elapsed < EXIT_WITH_CLIENTS_MS, `exit took ${elapsed} ms\n${gyre.stderr()}`);
  assert.match(gyre.stderr(), /SIGTERM/);
});

test('SIGTERM: a raw WebSocket client gets close code 3001, reason "shutdown"', async (t) => {
  const gyre = await startGyre({ client: { insecure: true } });
  t.after(() => gyre.stop());

  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: {} });
  const reply = await ws.nextJson();
  assert.equal(reply.id, 1, JSON.stringify(reply));
  assert.ok(reply.connect?.client, JSON.stringify(reply));

  const { exit } = await signalAndWait(gyre, 'SIGTERM', EXIT_WITH_CLIENTS_MS);
  let timer;
  const closed = await Promise.race([
    ws.closed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('websocket not closed')), 3000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.deepEqual(closed, { code: 3001, reason: 'shutdown' });
  assert.deepEqual(exit, { code: 0, signal: null }, gyre.stderr());
});

test('SIGINT with a client: 3001 "shutdown", exit 0, the log names SIGINT', async (t) => {
  const gyre = await startGyre({ client: { insecure: true } });
  t.after(() => gyre.stop());
  t.after(() => disconnectAll());

  const c = await connectedClient(gyre);
  const connecting = waitFor(c, 'connecting', 5000);
  const { exit, elapsed } = await signalAndWait(gyre, 'SIGINT', EXIT_WITH_CLIENTS_MS);
  const ctx = await connecting;
  assert.equal(ctx.code, 3001, JSON.stringify(ctx));
  assert.equal(ctx.reason, 'shutdown', JSON.stringify(ctx));
  assert.deepEqual(exit, { code: 0, signal: null }, gyre.stderr());
  assert.ok(elapsed < EXIT_WITH_CLIENTS_MS, `exit took ${elapsed} ms\n${gyre.stderr()}`);
  assert.match(gyre.stderr(), /SIGINT/);
  assert.doesNotMatch(gyre.stderr(), /SIGTERM/);
});

test('SIGTERM with no clients: exit 0 quickly; the log line mentions SIGTERM', async (t) => {
  const gyre = await startGyre({});
  t.after(() => gyre.stop());
  const { exit, elapsed } = await signalAndWait(gyre, 'SIGTERM', EXIT_IDLE_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, gyre.stderr());
  assert.ok(elapsed < EXIT_IDLE_MS, `idle exit took ${elapsed} ms\n${gyre.stderr()}`);
  assert.match(gyre.stderr(), /INFO.*SIGTERM.*shut/i);
});

test('SIGINT with no clients: exit 0 quickly', async (t) => {
  const gyre = await startGyre({});
  t.after(() => gyre.stop());
  const { exit, elapsed } = await signalAndWait(gyre, 'SIGINT', EXIT_IDLE_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, gyre.stderr());
  assert.ok(elapsed < EXIT_IDLE_MS, `idle exit took ${elapsed} ms\n${gyre.stderr()}`);
});

test('GET /health: 200 {} (application/json) when health.enabled', async (t) => {
  const gyre = await startGyre({ health: { enabled: true } });
  t.after(() => gyre.stop());
  const res = await fetch(`${gyre.url}/health`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.deepEqual(JSON.parse(text), {});
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
});

test('/health answers any method with 200 {} (spec §6.2), not only GET/HEAD', async (t) => {
  const gyre = await startGyre({ health: { enabled: true } });
  t.after(() => gyre.stop());
  for (const method of ['HEAD', 'POST', 'PUT']) {
    const res = await fetch(`${gyre.url}/health`, { method });
    const text = await res.text();
    assert.equal(res.status, 200, `${method} /health: ${res.status} ${text}`);
    if (method !== 'HEAD') assert.deepEqual(JSON.parse(text), {}, `${method} /health body`);
  }
});

test('GET /health: enabled by the --health.enabled flag', async (t) => {
  const gyre = await startGyre({}, { args: ['--health.enabled'] });
  t.after(() => gyre.stop());
  const res = await fetch(`${gyre.url}/health`);
  assert.equal(res.status, 200, await res.text());
});

test('GET /health: 404 when health is not enabled', async (t) => {
  const gyre = await startGyre({});
  t.after(() => gyre.stop());
  const res = await fetch(`${gyre.url}/health`);
  await res.text();
  assert.equal(res.status, 404);
  const off = await startGyre({ health: { enabled: false } });
  t.after(() => off.stop());
  const res2 = await fetch(`${off.url}/health`);
  await res2.text();
  assert.equal(res2.status, 404);
});

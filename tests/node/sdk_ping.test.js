// Protocol v2 ping/pong with client.ping_interval 1s and client.pong_timeout
// 500ms: the SDK (which answers pings) stays connected; a raw client that
// never answers is closed with 3012 "no pong"; an unsolicited pong ({} before
// any ping, or a second {} for the same ping) is closed with 3501.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor, WebSocket } from './lib/client.js';
import { openRaw } from './lib/rawws.js';

const TEST_TIMEOUT = 20_000;

const CONFIG = {
  client: {
    allow_anonymous_connect_without_token: true,
    ping_interval: '1s',
    pong_timeout: '500ms',
  },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function setup(t) {
  const gyre = await startGyre(CONFIG);
  const cleanups = [];
  t.after(async () => {
    for (const f of cleanups) {
      try {
        await f();
      } catch {
        // best effort
      }
    }
    await gyre.stop();
  });
  return { gyre, cleanups };
}

// Connects a raw socket and checks the connect reply negotiates ping 1 s and pong.
async function rawConnected(gyre, cleanups) {
  const ws = await openRaw(gyre.wsUrl);
  cleanups.push(() => ws.terminate());
  ws.sendJson({ connect: { name: 'raw' }, id: 1 });
  const reply = await ws.nextJson();
  const at = Date.now();
  assert.equal(reply.id, 1, JSON.stringify(reply));
  assert.ok(reply.connect, `connect result expected: ${JSON.stringify(reply)}`);
  assert.equal(reply.connect.ping, 1, 'ping interval in seconds');
  assert.equal(reply.connect.pong, true, 'pong negotiated');
  return { ws, connectedAt: at };
}

test('SDK client answers pings and stays connected for more than 3 intervals', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);

  // Count what travels over the SDK's socket: server pings in, pongs out.
  const counts = { pingsIn: 0, pongsOut: 0 };
  class CountingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on('message', (d) => {
        for (const line of d.toString().split('\n')) if (line.trim() === '{}') counts.pingsIn += 1;
      });
    }
    send(data, ...rest) {
      for (const line of String(data).split('\n')) if (line.trim() === '{}') counts.pongsOut += 1;
      return super.send(data, ...rest);
    }
  }

  const c = newCentrifuge(gyre.wsUrl, { websocket: CountingWebSocket });
  cleanups.push(() => c.disconnect());
  const events = [];
  for (const ev of ['connecting', 'disconnected', 'error']) {
    c.on(ev, (ctx) => events.push({ ev, ctx }));
  }
  const connected = waitFor(c, 'connected');
  c.connect();
  const ctx = await connected;
  events.length = 0; // the initial 'connecting' does not count

  await sleep(3600);
  assert.deepEqual(events, [], `no disconnect/reconnect expected: ${JSON.stringify(events)}`);
  assert.equal(c.state, 'connected');
  // First ping after 0.5-1 s, then one per second: at least 3 in 3.6 s.
  assert.ok(counts.pingsIn >= 3, `expected >= 3 server pings, got ${counts.pingsIn}`);
  assert.ok(counts.pongsOut >= 3, `expected >= 3 pongs, got ${counts.pongsOut}`);

  // Still the same, working connection.
  const info = await gyre.api('info', {});
  assert.equal(info.json.result.nodes[0].num_clients, 1, info.text);
  assert.ok(ctx.client);
});

test('raw client that answers pings stays connected', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);
  const { ws } = await rawConnected(gyre, cleanups);
  const start = Date.now();
  let pings = 0;
  while (Date.now() - start < 3200) {
    const m = await ws.nextJson(2000);
    assert.deepEqual(m, {}, `only pings expected, got ${JSON.stringify(m)}`);
    pings += 1;
    ws.send('{}');
  }
  assert.ok(pings >= 3, `expected >= 3 pings, got ${pings}`);
  assert.equal(ws.closeInfo, null, 'still open');
});

test('raw client that never answers pings is closed with 3012 "no pong"', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);
  const { ws, connectedAt } = await rawConnected(gyre, cleanups);

  // The first ping arrives between interval/2 and interval after connect.
  const ping = await ws.nextJson(2500);
  const pingAt = Date.now();
  assert.deepEqual(ping, {});
  assert.ok(pingAt - connectedAt <= 1500, `first ping after ${pingAt - connectedAt} ms`);

  let timer;
  const closed = await Promise.race([
    ws.closed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('not closed within 3 s of connect')), 3000 - (Date.now() - connectedAt));
    }),
  ]).finally(() => clearTimeout(timer));
  const closedAt = Date.now();
  assert.equal(closed.code, 3012);
  assert.equal(closed.reason, 'no pong');
  // Closed about pong_timeout (500 ms) after the ping, not before it.
  assert.ok(closedAt - pingAt >= 350, `closed ${closedAt - pingAt} ms after the ping (too early)`);
  assert.ok(closedAt - pingAt <= 1500, `closed ${closedAt - pingAt} ms after the ping (too late)`);
});

test('raw client that sends {} before any ping is closed with 3501', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);
  const { ws } = await rawConnected(gyre, cleanups);
  ws.send('{}'); // no ping has been sent yet (the first comes after >= 500 ms)
  const closed = await ws.closed;
  assert.equal(closed.code, 3501);
  assert.equal(closed.reason, 'bad request');
});

test('a second {} for the same ping is closed with 3501', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);
  const { ws } = await rawConnected(gyre, cleanups);
  const ping = await ws.nextJson(2500);
  assert.deepEqual(ping, {});
  ws.send('{}');
  ws.send('{}');
  const closed = await ws.closed;
  assert.equal(closed.code, 3501);
  assert.equal(closed.reason, 'bad request');
});

test('{} before connect is closed with 3501', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, cleanups } = await setup(t);
  const ws = await openRaw(gyre.wsUrl);
  cleanups.push(() => ws.terminate());
  ws.send('{}');
  const closed = await ws.closed;
  assert.equal(closed.code, 3501);
  assert.equal(closed.reason, 'bad request');
});

// Server API actions on live SDK connections: unsubscribe (2000, terminal),
// disconnect with the default code (3503, terminal) and with custom
// reconnect / terminal codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { collect, connect, serverWithClients, subscribe, waitFor } from './lib/client.js';

const TEST_TIMEOUT = 20_000;
// How long we watch for an unwanted reconnect/resubscribe. The SDK's first
// reconnect or resubscribe happens after 500-1000 ms.
const QUIET_MS = 1500;

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [{ name: 'ns', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true }],
  },
};

const setup = (t) => serverWithClients(t, CONFIG);

// Records every state-changing event of a client (and optional subscription).
function recordEvents(c, sub) {
  const events = [];
  for (const ev of ['connecting', 'connected', 'disconnected']) {
    c.on(ev, (ctx) => events.push({ ev, code: ctx.code, reason: ctx.reason, client: ctx.client }));
  }
  if (sub) {
    for (const ev of ['subscribing', 'subscribed', 'unsubscribed']) {
      sub.on(ev, (ctx) => events.push({ ev: `sub:${ev}`, code: ctx.code, reason: ctx.reason }));
    }
  }
  return events;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('API unsubscribe: unsubscribed 2000 "server unsubscribe", no resubscribe', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk();
  await connect(c);
  const sub = await subscribe(c, 'ns:room');
  const other = await subscribe(c, 'ns:other');
  const pubs = collect(sub, 'publication');
  const otherPubs = collect(other, 'publication');
  const events = recordEvents(c, sub);

  const unsubscribed = waitFor(sub, 'unsubscribed');
  const r = await gyre.api('unsubscribe', { user: '', channel: 'ns:room' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { result: {} });

  const ctx = await unsubscribed;
  assert.equal(ctx.channel, 'ns:room');
  assert.equal(ctx.code, 2000);
  assert.equal(ctx.reason, 'server unsubscribe');
  assert.equal(sub.state, 'unsubscribed');

  // Stays unsubscribed, the connection stays up, the other subscription too.
  await sleep(QUIET_MS);
  assert.deepEqual(
    events.map((e) => e.ev),
    ['sub:unsubscribed'],
    `unexpected events: ${JSON.stringify(events)}`,
  );
  assert.equal(sub.state, 'unsubscribed');
  assert.equal(other.state, 'subscribed');
  assert.equal(c.state, 'connected');

  // The server really dropped the subscription: publications no longer arrive.
  await gyre.api('publish', { channel: 'ns:room', data: { after: 'unsubscribe' } });
  await gyre.api('publish', { channel: 'ns:other', data: { still: 'here' } });
  await otherPubs.waitForCount(1);
  assert.deepEqual(otherPubs[0].data, { still: 'here' });
  await sleep(200);
  assert.equal(pubs.length, 0, 'no publication after server unsubscribe');
});

test('API disconnect (default): disconnected 3503 "force disconnect", no reconnect', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk();
  await connect(c);
  const sub = await subscribe(c, 'ns:room');
  const events = recordEvents(c, sub);

  const disconnected = waitFor(c, 'disconnected');
  const r = await gyre.api('disconnect', { user: '' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { result: {} });

  const ctx = await disconnected;
  assert.equal(ctx.code, 3503);
  assert.equal(ctx.reason, 'force disconnect');
  assert.equal(c.state, 'disconnected');

  await sleep(QUIET_MS);
  assert.ok(
    !events.some((e) => e.ev === 'connecting' || e.ev === 'connected'),
    `client must not reconnect after 3503: ${JSON.stringify(events)}`,
  );
  assert.equal(c.state, 'disconnected');

  // The server no longer counts the connection (bounded poll: removal may
  // trail the close frame slightly).
  let info;
  for (let i = 0; i < 40; i++) {
    info = await gyre.api('info', {});
    assert.equal(info.status, 200, info.text);
    if (info.json.result.nodes[0].num_clients === 0) break;
    await sleep(50);
  }
  assert.equal(info.json.result.nodes[0].num_clients, 0, info.text);
});

test('API disconnect with a custom reconnect code (4000-4499): connecting then connected', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk();
  const first = await connect(c);
  const sub = await subscribe(c, 'ns:room');
  const events = recordEvents(c, sub);

  const connecting = waitFor(c, 'connecting');
  const reconnected = waitFor(c, 'connected', 8000);
  const resubscribed = waitFor(sub, 'subscribed', 8000);
  const r = await gyre.api('disconnect', {
    user: '',
    disconnect: { code: 4001, reason: 'custom reconnect' },
  });
  assert.equal(r.status, 200, r.text);

  const cctx = await connecting;
  assert.equal(cctx.code, 4001);
  assert.equal(cctx.reason, 'custom reconnect');

  const again = await reconnected;
  assert.ok(again.client, 'new client id');
  assert.notEqual(again.client, first.client, 'a new connection gets a new client id');
  await resubscribed;
  assert.equal(sub.state, 'subscribed');
  assert.deepEqual(
    events.filter((e) => !e.ev.startsWith('sub:')).map((e) => [e.ev, e.code]),
    [
      ['connecting', 4001],
      ['connected', undefined],
    ],
  );
  assert.ok(!events.some((e) => e.ev === 'disconnected'), JSON.stringify(events));

  // Works again after the reconnect.
  const pubs = collect(sub, 'publication');
  await gyre.api('publish', { channel: 'ns:room', data: { back: true } });
  await pubs.waitForCount(1);
  assert.deepEqual(pubs[0].data, { back: true });
});

test('API disconnect with a custom terminal code (4500-4999): disconnected, no reconnect', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const c = mk();
  await connect(c);
  const events = recordEvents(c);

  const disconnected = waitFor(c, 'disconnected');
  const r = await gyre.api('disconnect', {
    user: '',
    disconnect: { code: 4501, reason: 'go away' },
  });
  assert.equal(r.status, 200, r.text);
  const ctx = await disconnected;
  assert.equal(ctx.code, 4501);
  assert.equal(ctx.reason, 'go away');

  await sleep(QUIET_MS);
  assert.deepEqual(
    events.map((e) => e.ev),
    ['disconnected'],
    JSON.stringify(events),
  );
});

test('API disconnect by client id affects only that connection', { timeout: TEST_TIMEOUT }, async (t) => {
  const { gyre, mk } = await setup(t);
  const a = mk();
  const actx = await connect(a);
  const b = mk();
  await connect(b);
  const aEvents = recordEvents(a);
  const bEvents = recordEvents(b);

  const disconnected = waitFor(a, 'disconnected');
  const r = await gyre.api('disconnect', { user: '', client: actx.client });
  assert.equal(r.status, 200, r.text);
  const ctx = await disconnected;
  assert.equal(ctx.code, 3503);
  assert.equal(ctx.reason, 'force disconnect');

  await sleep(300);
  assert.deepEqual(aEvents.map((e) => e.ev), ['disconnected']);
  assert.deepEqual(bEvents, [], 'the other connection is untouched');
  assert.equal(b.state, 'connected');
});

// The centrifuge SDK's emulation transports against the transport-sse
// plugin: http_stream (a POST answered with a never-ending stream of
// newline JSON) and sse (EventSource, from the eventsource package: Node 20
// has none), with every command after connect POSTed to /emulation. The
// same scenarios run over both: connect, subscribe, publications from the
// API and from another client's publish through /emulation, presence,
// history, recovery after the stream is cut, a disconnect from the API with
// its code, and the SDK falling back from a dead WebSocket endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';

import { collect, connect, newCentrifuge, serverWithClients, waitFor } from './lib/client.js';
import { startProxy } from './lib/proxy.js';
import { freePort } from './lib/server.js';

const TEST_TIMEOUT = 30_000;

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  sse: { enabled: true },
  http_stream: { enabled: true },
  channel: {
    namespaces: [
      {
        name: 'room',
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        allow_publish_for_client: true,
        allow_publish_for_anonymous: true,
        presence: true,
        allow_presence_for_client: true,
        allow_presence_for_anonymous: true,
        history_size: 100,
        history_ttl: '300s',
        allow_history_for_client: true,
        allow_history_for_anonymous: true,
        force_recovery: true,
      },
    ],
  },
};

// An SDK client on one emulation transport. `base` is where the stream goes
// (a proxy in the recovery test); commands always go to the server itself.
function emulated(gyre, transport, base = gyre.url, opts = {}) {
  return newCentrifuge([{ transport, endpoint: `${base}/connection/${transport}` }], {
    eventsource: EventSource,
    emulationEndpoint: `${gyre.url}/emulation`,
    ...opts,
  });
}

async function publish(gyre, channel, data) {
  const r = await gyre.api('publish', { channel, data });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && r.json.result, r.text);
  return r.json.result;
}

function subscribeTo(c, channel, opts) {
  const sub = c.newSubscription(channel, opts);
  const subscribed = collect(sub, 'subscribed');
  const pubs = collect(sub, 'publication');
  sub.subscribe();
  return { sub, subscribed, pubs };
}

for (const transport of ['http_stream', 'sse']) {
  test(`${transport}: connect, subscribe, API and client publications, presence, history`, {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    const { gyre, mk } = await serverWithClients(t, CONFIG);
    const c = emulated(gyre, transport);
    t.after(() => c.disconnect());
    const ctx = await connect(c);
    assert.equal(ctx.transport, transport);
    assert.ok(ctx.client, 'client id');

    const { sub, subscribed, pubs } = subscribeTo(c, 'room:a');
    await subscribed.waitForCount(1);
    assert.equal(subscribed[0].recoverable, true);

    // From the API.
    await publish(gyre, 'room:a', { n: 1 });
    await pubs.waitForCount(1);
    assert.deepEqual(pubs[0].data, { n: 1 });

    // From this client (its publish command travels through /emulation) and
    // from a WebSocket client: both reach the emulated subscriber.
    await sub.publish({ n: 2, from: transport });
    const ws = mk();
    await connect(ws);
    await ws.publish('room:a', { n: 3, from: 'websocket' });
    await pubs.waitForCount(3);
    assert.deepEqual(
      pubs.map((p) => p.data.n),
      [1, 2, 3],
    );
    assert.equal(pubs[1].offset, 2);

    // Presence lists this connection (a command over /emulation too).
    const presence = await sub.presence();
    assert.ok(presence.clients[ctx.client], `presence has ${ctx.client}: ${JSON.stringify(presence)}`);
    const stats = await sub.presenceStats();
    assert.equal(stats.numClients, 1);

    // History in both directions.
    const h = await sub.history({ limit: 10 });
    assert.deepEqual(
      h.publications.map((p) => p.data.n),
      [1, 2, 3],
    );
    const last = await sub.history({ limit: 1, reverse: true });
    assert.deepEqual(last.publications[0].data, { n: 3, from: 'websocket' });

    // The API sees the session with its transport.
    const info = await gyre.api('presence', { channel: 'room:a' });
    assert.equal(info.status, 200, info.text);
    assert.ok(info.json.result.presence[ctx.client]);
  });

  test(`${transport}: recovery after the stream is cut mid-way`, { timeout: TEST_TIMEOUT }, async (t) => {
    const { gyre } = await serverWithClients(t, CONFIG);
    const proxy = await startProxy(gyre.port);
    t.after(() => proxy.close());
    const c = emulated(gyre, transport, `http://127.0.0.1:${proxy.port}`);
    t.after(() => c.disconnect());
    await connect(c);
    const { subscribed, pubs } = subscribeTo(c, 'room:rec');
    await subscribed.waitForCount(1);
    await publish(gyre, 'room:rec', { n: 1 });
    await pubs.waitForCount(1);

    // The network drops the stream: no disconnect push reaches the client.
    const connecting = waitFor(c, 'connecting');
    proxy.dropAll();
    await connecting;
    for (let n = 2; n <= 5; n++) await publish(gyre, 'room:rec', { n });

    await subscribed.waitForCount(2, 15_000);
    assert.equal(subscribed[1].wasRecovering, true);
    assert.equal(subscribed[1].recovered, true);
    await publish(gyre, 'room:rec', { n: 6 });
    await pubs.waitForCount(6, 10_000);
    assert.deepEqual(
      pubs.map((p) => p.data.n),
      [1, 2, 3, 4, 5, 6],
      'every publication once, in order',
    );
  });

  test(`${transport}: a disconnect from the API arrives with its code`, {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    const { gyre } = await serverWithClients(t, CONFIG);
    const c = emulated(gyre, transport);
    t.after(() => c.disconnect());
    const ctx = await connect(c);
    const disconnected = waitFor(c, 'disconnected');
    const r = await gyre.api('disconnect', {
      user: '',
      client: ctx.client,
      disconnect: { code: 4501, reason: 'go away' },
    });
    assert.equal(r.status, 200, r.text);
    const d = await disconnected;
    assert.equal(d.code, 4501);
    assert.equal(d.reason, 'go away');
  });
}

test('fallback: WebSocket endpoint unreachable, the SDK moves on to http_stream', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const { gyre } = await serverWithClients(t, CONFIG);
  const dead = await freePort(); // nothing listens there
  const c = newCentrifuge(
    [
      { transport: 'websocket', endpoint: `ws://127.0.0.1:${dead}/connection/websocket` },
      { transport: 'http_stream', endpoint: `${gyre.url}/connection/http_stream` },
    ],
    { emulationEndpoint: `${gyre.url}/emulation` },
  );
  t.after(() => c.disconnect());
  const ctx = await connect(c);
  assert.equal(ctx.transport, 'http_stream');
  const { subscribed, pubs } = subscribeTo(c, 'room:fallback');
  await subscribed.waitForCount(1);
  await publish(gyre, 'room:fallback', { ok: true });
  await pubs.waitForCount(1);
  assert.deepEqual(pubs[0].data, { ok: true });
});

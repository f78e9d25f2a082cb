// Subscription recovery through the centrifuge-js SDK: a recoverable
// subscription loses its connection, messages are published while it is
// away, and on reconnect the server must return exactly the missed ones
// (recovered:true), once each and in order, followed by live publications.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { collect, serverWithClients, waitFor } from './lib/client.js';

const TEST_TIMEOUT = 20_000;
const CH = 'rec:stream';

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [
      {
        name: 'rec',
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        history_size: 100,
        history_ttl: '300s',
        force_recovery: true,
      },
    ],
  },
};

const setup = (t) => serverWithClients(t, CONFIG);

async function publish(gyre, n) {
  const r = await gyre.api('publish', { channel: CH, data: { n } });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && r.json.result, `publish ${n}: ${r.text}`);
  return r.json.result;
}

// Connects, subscribes to CH and checks the first subscribe result.
async function connectAndSubscribe(c) {
  const connected = waitFor(c, 'connected');
  c.connect();
  await connected;
  const sub = c.newSubscription(CH);
  const subscribedEvents = collect(sub, 'subscribed');
  const pubs = collect(sub, 'publication');
  sub.on('unsubscribed', (ctx) => {
    subscribedEvents.unexpected = ctx;
  });
  sub.subscribe();
  await subscribedEvents.waitForCount(1);
  const first = subscribedEvents[0];
  assert.equal(first.recoverable, true, 'force_recovery makes the subscription recoverable');
  assert.equal(first.positioned, true);
  assert.equal(first.wasRecovering, false);
  assert.equal(first.recovered, false);
  assert.ok(first.streamPosition, 'streamPosition present');
  assert.equal(typeof first.streamPosition.epoch, 'string');
  assert.ok(first.streamPosition.epoch.length > 0, 'epoch non-empty');
  return { sub, subscribedEvents, pubs };
}

// Checks that `pubs` holds exactly data n = 1..count with offsets 1..count.
function assertExactSequence(pubs, count) {
  const got = pubs.map((p) => [p.offset, p.data && p.data.n]);
  const want = Array.from({ length: count }, (_, i) => [i + 1, i + 1]);
  assert.deepEqual(got, want, 'publications must be exactly 1..N once each, in order');
}

// Runs the "publish while the client is away" scenario. `drop` breaks the
// connection; `expectConnecting` checks the connecting event it causes.
async function recoveryScenario(t, drop, expectConnecting) {
  const { gyre, mk } = await setup(t);
  const c = mk();
  const { sub, subscribedEvents, pubs } = await connectAndSubscribe(c);
  const epoch0 = subscribedEvents[0].streamPosition.epoch;

  // Live phase: offsets advance with every publication.
  const LIVE1 = 3;
  for (let n = 1; n <= LIVE1; n++) {
    const res = await publish(gyre, n);
    assert.equal(res.offset, n);
    assert.equal(res.epoch, epoch0);
  }
  await pubs.waitForCount(LIVE1);
  assertExactSequence(pubs, LIVE1);

  // Disconnect, and publish the missed messages as soon as the client has
  // noticed (it then waits >= 500 ms before reconnecting).
  const MISSED = 20;
  let connectedAgainAt = 0;
  c.on('connected', () => {
    connectedAgainAt = Date.now();
  });
  const missedPublished = new Promise((resolve, reject) => {
    c.once('connecting', async (ctx) => {
      try {
        expectConnecting(ctx);
        assert.equal(sub.state, 'subscribing', 'subscription waits for the new connection');
        for (let n = LIVE1 + 1; n <= LIVE1 + MISSED; n++) await publish(gyre, n);
        resolve({ doneAt: Date.now(), stateAfter: c.state });
      } catch (e) {
        reject(e);
      }
    });
  });
  await drop(gyre, c);
  const { doneAt, stateAfter } = await missedPublished;
  assert.equal(
    stateAfter,
    'connecting',
    'all missed messages must be published before the client reconnects (test precondition)',
  );
  assert.equal(pubs.length, LIVE1, 'nothing delivered while disconnected');

  // Reconnect + recovery.
  await subscribedEvents.waitForCount(2, 10_000);
  assert.ok(connectedAgainAt >= doneAt, 'reconnected after the missed messages were published');
  const again = subscribedEvents[1];
  assert.equal(again.wasRecovering, true, 'wasRecovering');
  assert.equal(again.recovered, true, 'recovered');
  assert.equal(again.recoverable, true);
  assert.equal(again.positioned, true);
  assert.equal(again.hasRecoveredPublications, true, 'hasRecoveredPublications');
  assert.equal(again.streamPosition.epoch, epoch0, 'same epoch after recovery');

  await pubs.waitForCount(LIVE1 + MISSED);
  assertExactSequence(pubs, LIVE1 + MISSED);

  // Live again after recovery.
  const LIVE2 = 5;
  for (let n = LIVE1 + MISSED + 1; n <= LIVE1 + MISSED + LIVE2; n++) await publish(gyre, n);
  await pubs.waitForCount(LIVE1 + MISSED + LIVE2);
  // Give duplicates a chance to show up.
  await new Promise((r) => setTimeout(r, 300));
  assertExactSequence(pubs, LIVE1 + MISSED + LIVE2);
  assert.equal(subscribedEvents.length, 2, 'exactly one resubscribe');
  assert.equal(subscribedEvents.unexpected, undefined, 'never unsubscribed');
  assert.equal(c.state, 'connected');
}

test(
  'recovery after API disconnect 3011 (force reconnect): exactly the missed publications',
  { timeout: TEST_TIMEOUT },
  async (t) => {
    await recoveryScenario(
      t,
      async (gyre) => {
        const r = await gyre.api('disconnect', {
          user: '',
          disconnect: { code: 3011, reason: 'force reconnect' },
        });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { result: {} });
      },
      (ctx) => {
        assert.equal(ctx.code, 3011);
        assert.equal(ctx.reason, 'force reconnect');
      },
    );
  },
);

test(
  'recovery after the transport is dropped (TCP reset, no close frame)',
  { timeout: TEST_TIMEOUT },
  async (t) => {
    await recoveryScenario(
      t,
      async (_gyre, c) => {
        // The SDK's WebsocketTransport keeps the `ws` instance in _transport.
        const ws = c._transport && c._transport._transport;
        assert.ok(ws && typeof ws.terminate === 'function', 'found the underlying ws socket');
        ws.terminate();
      },
      (ctx) => {
        assert.equal(ctx.code, 1, 'local code transportClosed');
        assert.equal(ctx.reason, 'transport closed');
      },
    );
  },
);

test(
  'recovery while publications keep flowing: no gap and no duplicate across the resubscribe',
  { timeout: TEST_TIMEOUT },
  async (t) => {
    const { gyre, mk } = await setup(t);
    const c = mk();
    const { subscribedEvents, pubs } = await connectAndSubscribe(c);

    // A publisher that keeps going through disconnect, reconnect, recovery
    // and a while after. Sequential publishes, so offsets == n. One every
    // ~15 ms: the SDK reconnects within 0.5-1 s, so the client misses well
    // under history_size (100) publications and recovery must succeed.
    let n = 0;
    let stop = false;
    const MAX = 400; // bound
    const publisher = (async () => {
      while (!stop && n < MAX) {
        n += 1;
        await publish(gyre, n);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    try {
      await pubs.waitForCount(10);
      const connecting = waitFor(c, 'connecting');
      const r = await gyre.api('disconnect', {
        user: '',
        disconnect: { code: 3011, reason: 'force reconnect' },
      });
      assert.equal(r.status, 200, r.text);
      const ctx = await connecting;
      assert.equal(ctx.code, 3011);
      const atDisconnect = n;

      await subscribedEvents.waitForCount(2, 10_000);
      const again = subscribedEvents[1];
      assert.ok(n - atDisconnect > 0, 'something was published while the client was away');
      assert.ok(n - atDisconnect < 100, `missed ${n - atDisconnect} publications: more than history_size (test precondition)`);
      assert.equal(again.wasRecovering, true);
      assert.equal(again.recovered, true);

      // Let live traffic flow for a bit after the resubscribe.
      const target = Math.min(n + 30, MAX);
      await pubs.waitForCount(target, 10_000);
    } finally {
      stop = true;
      await publisher;
    }
    await pubs.waitForCount(n, 5000);
    await new Promise((r) => setTimeout(r, 300));
    assertExactSequence(pubs, n);
    assert.equal(subscribedEvents.length, 2);
  },
);

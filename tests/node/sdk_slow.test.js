// Slow consumer: a subscriber that stops reading must be disconnected with
// 3008 "slow" once its outbound queue exceeds client.queue_max_size, while a
// subscriber that keeps reading receives every publication.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor } from './lib/client.js';
import { openRaw } from './lib/rawws.js';

const TEST_TIMEOUT = 20_000;
const CH = 'slow:feed';
const QUEUE_MAX = 65536;
const MSG_SIZE = 4096;
const BATCH = 10; // 10 x 4 KB = 40 KB per API call: below QUEUE_MAX, so a reader that keeps up never trips it
const MAX_MESSAGES = 9000; // ~36 MB: far more than loopback socket buffers absorb
const AFTER_DROP_MESSAGES = 300; // keep publishing this much after the slow one is gone

const CONFIG = {
  client: {
    allow_anonymous_connect_without_token: true,
    queue_max_size: QUEUE_MAX,
  },
  channel: {
    namespaces: [{ name: 'slow', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true }],
  },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('paused subscriber is closed with 3008 "slow"; the other keeps receiving everything', { timeout: TEST_TIMEOUT }, async (t) => {
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

  // Fast subscriber: the SDK; checks order as it goes and keeps only counters.
  const fast = newCentrifuge(gyre.wsUrl);
  cleanups.push(() => fast.disconnect());
  const fastEvents = [];
  for (const ev of ['connecting', 'disconnected']) fast.on(ev, (ctx) => fastEvents.push({ ev, ...ctx }));
  const connected = waitFor(fast, 'connected');
  fast.connect();
  await connected;
  fastEvents.length = 0; // the initial 'connecting' (code 0 'connect called') does not count
  const fastSub = fast.newSubscription(CH);
  let fastCount = 0;
  let fastOrderError = null;
  let fastWaiter = null;
  fastSub.on('publication', (ctx) => {
    const seq = ctx.data && ctx.data.seq;
    if (seq !== fastCount + 1 && !fastOrderError) fastOrderError = `expected seq ${fastCount + 1}, got ${seq}`;
    if (ctx.data.pad.length !== MSG_SIZE && !fastOrderError) fastOrderError = `seq ${seq}: bad payload size`;
    fastCount += 1;
    if (fastWaiter) fastWaiter();
  });
  const subscribed = waitFor(fastSub, 'subscribed');
  fastSub.subscribe();
  await subscribed;
  const fastCaughtUp = (n, timeoutMs = 3000) =>
    new Promise((resolve, reject) => {
      if (fastCount >= n) return resolve();
      const timer = setTimeout(() => {
        fastWaiter = null;
        reject(new Error(`fast subscriber stuck at ${fastCount} of ${n} (events: ${JSON.stringify(fastEvents)})`));
      }, timeoutMs);
      fastWaiter = () => {
        if (fastCount >= n) {
          clearTimeout(timer);
          fastWaiter = null;
          resolve();
        }
      };
    });

  // Slow subscriber: a raw socket that stops reading after subscribing.
  const slow = await openRaw(gyre.wsUrl);
  cleanups.push(() => slow.terminate());
  slow.send(
    JSON.stringify({ connect: { name: 'slow' }, id: 1 }) + '\n' + JSON.stringify({ subscribe: { channel: CH }, id: 2 }),
  );
  const r1 = await slow.nextJson();
  assert.ok(r1.connect, JSON.stringify(r1));
  const r2 = await slow.nextJson();
  assert.equal(r2.id, 2, JSON.stringify(r2));
  assert.ok(r2.subscribe, `slow subscribe failed: ${JSON.stringify(r2)}`);

  const numClients = async () => {
    const r = await gyre.api('info', {});
    assert.equal(r.status, 200, r.text);
    return r.json.result.nodes[0].num_clients;
  };
  assert.equal(await numClients(), 2);

  slow.ws._socket.pause();

  // Publish in small batches; wait for the fast subscriber after each one.
  const pad = 'x'.repeat(MSG_SIZE);
  let published = 0;
  let droppedAt = 0; // messages published when the server had dropped the slow one
  const deadline = Date.now() + 12_000;
  while (published < MAX_MESSAGES) {
    assert.ok(Date.now() < deadline, `publishing took too long (published ${published}, fast got ${fastCount})`);
    const commands = [];
    for (let i = 0; i < BATCH; i++) commands.push({ publish: { channel: CH, data: { seq: published + i + 1, pad } } });
    const r = await gyre.api('batch', { commands });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.replies.length, BATCH);
    for (const rep of r.json.replies) assert.ok(!rep.error, `publish error: ${JSON.stringify(rep)}`);
    published += BATCH;
    await fastCaughtUp(published);
    assert.equal(fastOrderError, null, fastOrderError);

    if (!droppedAt && published % (BATCH * 5) === 0 && (await numClients()) === 1) droppedAt = published;
    if (droppedAt && published >= droppedAt + AFTER_DROP_MESSAGES) break;
  }

  assert.ok(droppedAt > 0, `server never dropped the paused subscriber after ${published} messages (${(published * MSG_SIZE) >> 20} MB)`);
  assert.equal(fastCount, published, 'fast subscriber got every publication');
  assert.equal(fastOrderError, null, fastOrderError);
  assert.deepEqual(fastEvents, [], 'fast subscriber never lost its connection');
  assert.equal(fastSub.state, 'subscribed');

  // Let the slow one read again: it drains what the server had already
  // written, then finds the close frame.
  slow.ws._socket.resume();
  let timer;
  const closed = await Promise.race([
    slow.closed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('slow subscriber was not closed within 8 s of resuming')), 8000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(closed.code, 3008, `close ${closed.code} '${closed.reason}'`);
  assert.equal(closed.reason, 'slow');

  t.diagnostic(`published ${published} (${((published * MSG_SIZE) / 1048576).toFixed(1)} MB), slow dropped by ${droppedAt}`);

  // What the slow one did get is an in-order prefix, and not everything.
  const seqs = [];
  for (;;) {
    let m;
    try {
      m = await slow.nextJson(50);
    } catch {
      break; // queue empty (closed)
    }
    if (m.push && m.push.pub) seqs.push(m.push.pub.data.seq);
  }
  assert.ok(seqs.length > 0, 'slow subscriber received something before it stalled');
  assert.ok(seqs.length < published, `slow subscriber cannot have received all ${published}`);
  seqs.forEach((s, i) => assert.equal(s, i + 1, `slow subscriber: message ${i} has seq ${s}`));
  t.diagnostic(`slow subscriber received ${seqs.length} publications before the close`);

  // The fast subscriber is still fine.
  assert.equal(await numClients(), 1);
  await sleep(100);
  assert.deepEqual(fastEvents, []);
});

// Bad input on the WebSocket transport (client-protocol.md §1, §3.1, §5.3,
// §9.1, §14 items 1-5, 10-11), plus origin checks on the handshake.
//
// Every case checks the exact documented outcome for the offending
// connection, then that a healthy connection which connected and subscribed
// BEFORE the bad input still receives a server-API publication, and that the
// server process is still alive.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';
import { newCentrifuge, waitFor, disconnectAll } from './lib/client.js';

const WAIT_MS = 5000; // every single wait is bounded by this (or less)
const TEST_TIMEOUT_MS = 20000;
const CONNECT = '{"connect":{"name":"js"},"id":1}';

// ---------------------------------------------------------------------------
// Local helpers

// Resolves with `p`, or rejects after ms with a message naming `what`.
function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Waits for the server to close `conn`; returns {code, reason}.
function closedWithin(conn, ms = WAIT_MS) {
  return within(conn.closed, ms, 'the server to close the websocket');
}

// Every JSON message still queued on `conn` (does not wait for more than
// `ms` for each one). Stops at close.
async function drainJson(conn, ms = 200) {
  const out = [];
  for (;;) {
    try {
      out.push(await conn.nextJson(ms));
    } catch {
      return out;
    }
  }
}

function assertAlive(gyre) {
  assert.equal(gyre.proc.exitCode, null, `gyre exited (code ${gyre.proc.exitCode})\n${gyre.stderr().slice(-4000)}`);
  assert.equal(gyre.proc.signalCode, null, `gyre killed by ${gyre.proc.signalCode}\n${gyre.stderr().slice(-4000)}`);
}

let witnessSeq = 0;

// A healthy raw connection: connects and subscribes to its own channel.
// check() publishes through the server API and expects the pub push.
async function rawWitness(gyre) {
  const channel = `witness${++witnessSeq}`;
  const conn = await openRaw(gyre.wsUrl);
  conn.send(`${CONNECT}\n{"subscribe":{"channel":"${channel}","flag":1},"id":2}`);
  const r1 = await conn.nextJson(WAIT_MS);
  assert.equal(r1.id, 1, `witness connect reply: ${JSON.stringify(r1)}`);
  assert.ok(r1.connect, `witness connect failed: ${JSON.stringify(r1)}`);
  const r2 = await conn.nextJson(WAIT_MS);
  assert.equal(r2.id, 2, `witness subscribe reply: ${JSON.stringify(r2)}`);
  assert.ok(r2.subscribe, `witness subscribe failed: ${JSON.stringify(r2)}`);
  let n = 0;
  return {
    conn,
    async check() {
      assertAlive(gyre);
      const marker = `alive-${channel}-${++n}`;
      const res = await gyre.api('publish', { channel, data: { marker } });
      assert.equal(res.status, 200, `API publish: ${res.status} ${res.text}`);
      assert.equal(res.json?.error, undefined, `API publish error: ${res.text}`);
      for (;;) {
        const m = await conn.nextJson(WAIT_MS);
        if (m.push?.channel === channel && m.push.pub?.data?.marker === marker) break;
      }
      assert.equal(conn.closeInfo, null, 'witness connection was closed');
      assertAlive(gyre);
    },
    close() {
      return within(conn.close(), WAIT_MS, 'witness close').catch(() => conn.terminate());
    },
  };
}

// A healthy SDK client subscribed to its own channel.
async function sdkWitness(gyre) {
  const channel = `sdkwitness${++witnessSeq}`;
  const c = newCentrifuge(gyre.wsUrl);
  const connected = waitFor(c, 'connected', WAIT_MS);
  const sub = c.newSubscription(channel);
  const subscribed = waitFor(sub, 'subscribed', WAIT_MS);
  sub.subscribe();
  c.connect();
  await connected;
  await subscribed;
  let n = 0;
  return {
    client: c,
    async check() {
      assertAlive(gyre);
      assert.equal(c.state, 'connected', `SDK witness state is ${c.state}`);
      const marker = `alive-${channel}-${++n}`;
      const got = new Promise((resolve) => {
        const onPub = (ctx) => {
          if (ctx.data?.marker === marker) {
            sub.removeListener('publication', onPub);
            resolve(ctx);
          }
        };
        sub.on('publication', onPub);
      });
      const res = await gyre.api('publish', { channel, data: { marker } });
      assert.equal(res.status, 200, `API publish: ${res.status} ${res.text}`);
      await within(got, WAIT_MS, `SDK witness publication ${marker}`);
      assertAlive(gyre);
    },
    close() {
      c.disconnect();
    },
  };
}

// Runs `fn` between a witness set up before it and checked after it.
async function withWitness(gyre, fn, { sdk = false } = {}) {
  const w = sdk ? await sdkWitness(gyre) : await rawWitness(gyre);
  try {
    await fn();
    await w.check();
  } finally {
    await w.close();
  }
}

// Opens a raw socket, sends each of `frames` (strings = text frames,
// functions get the `ws` object), and expects the server to close with
// code/reason. Returns the JSON messages received before the close.
async function expectClose(gyre, frames, code, reason, ms = WAIT_MS) {
  const conn = await openRaw(gyre.wsUrl);
  for (const f of frames) {
    if (typeof f === 'function') f(conn.ws);
    else conn.send(f);
  }
  const info = await closedWithin(conn, ms);
  const msgs = await drainJson(conn);
  assert.deepEqual(
    { code: info.code, reason: info.reason },
    { code, reason },
    `close frame; messages before it: ${JSON.stringify(msgs)}`,
  );
  return msgs;
}

function assertConnectOk(msg) {
  assert.equal(msg?.id, 1, `expected the connect reply first, got ${JSON.stringify(msg)}`);
  assert.equal(msg.error, undefined, `connect failed: ${JSON.stringify(msg)}`);
  assert.ok(msg.connect && typeof msg.connect.client === 'string', `bad connect reply: ${JSON.stringify(msg)}`);
}

// ---------------------------------------------------------------------------

describe('bad input over WebSocket (client.insecure)', () => {
  let gyre;
  before(async () => {
    gyre = await startGyre({ client: { insecure: true } });
  });
  after(async () => {
    disconnectAll();
    await gyre?.stop();
  });

  test('subscribe as the first frame → close 3501 bad request, no reply', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, ['{"subscribe":{"channel":"news"},"id":1}'], 3501, 'bad request');
      assert.deepEqual(msgs, [], 'no reply may precede the close');
    });
  });

  test('empty text frame → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [''], 3501, 'bad request');
      assert.deepEqual(msgs, []);
    });
  });

  test('{} before connect → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, ['{}'], 3501, 'bad request');
      assert.deepEqual(msgs, []);
    });
  });

  test('invalid JSON line → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, ['{"connect":'], 3501, 'bad request');
      assert.deepEqual(msgs, []);
    });
  });

  test('invalid JSON on a later line after a good connect → connect reply, then 3501', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [`${CONNECT}\n{"subscribe":`], 3501, 'bad request');
      assert.equal(msgs.length, 1, `messages: ${JSON.stringify(msgs)}`);
      assertConnectOk(msgs[0]);
    });
  });

  test('second connect on a connected socket → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [CONNECT, '{"connect":{"name":"js"},"id":2}'], 3501, 'bad request');
      assert.equal(msgs.length, 1, `only the first connect may be answered: ${JSON.stringify(msgs)}`);
      assertConnectOk(msgs[0]);
    });
  });

  test('command with id and no known method → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [CONNECT, '{"id":2,"foo":{}}'], 3501, 'bad request');
      assert.equal(msgs.length, 1, `messages: ${JSON.stringify(msgs)}`);
      assertConnectOk(msgs[0]);
    });
  });

  test('{"ping":{},"id":5} (dead ping command) → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [CONNECT, '{"ping":{},"id":5}'], 3501, 'bad request');
      assert.equal(msgs.length, 1, `ping must get no reply (no 108): ${JSON.stringify(msgs)}`);
      assertConnectOk(msgs[0]);
    });
  });

  test('send without a message handler → close 3508 not available', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(gyre, [CONNECT, '{"send":{"data":{}}}'], 3508, 'not available');
      assert.equal(msgs.length, 1, `send gets no reply: ${JSON.stringify(msgs)}`);
      assertConnectOk(msgs[0]);
    });
  });

  test('binary frame (carrying a valid connect) → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const msgs = await expectClose(
        gyre,
        [(ws) => ws.send(Buffer.from(CONNECT), { binary: true })],
        3501,
        'bad request',
      );
      assert.deepEqual(msgs, [], 'a binary frame must not be treated as a JSON connect');
    });
  });

  test('text message larger than 65536 bytes → close 1009', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      conn.send(CONNECT);
      assertConnectOk(await conn.nextJson(WAIT_MS));
      // Valid JSON, so only the size can be the reason.
      const big = `{"publish":{"channel":"news","data":{"p":"${'x'.repeat(70000)}"}},"id":2}`;
      assert.ok(big.length > 65536);
      conn.send(big);
      const info = await closedWithin(conn);
      assert.equal(info.code, 1009, `close ${info.code} '${info.reason}'`);
      const msgs = await drainJson(conn);
      assert.deepEqual(msgs, [], 'the oversized publish must not be answered');
    });
  });

  test('text message of exactly 65536 bytes is accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        conn.send(CONNECT);
        assertConnectOk(await conn.nextJson(WAIT_MS));
        const head = '{"publish":{"channel":"news","data":{"p":"';
        const tail = '"}},"id":2}';
        const msg = head + 'y'.repeat(65536 - head.length - tail.length) + tail;
        assert.equal(Buffer.byteLength(msg), 65536);
        conn.send(msg);
        const r = await conn.nextJson(WAIT_MS);
        assert.deepEqual(r, { id: 2, publish: {} });
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('fragmented message carrying connect+subscribe works', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        const whole = `${CONNECT}\n{"subscribe":{"channel":"frag","flag":1},"id":2}`;
        const cut1 = 17; // inside the connect object
        const cut2 = CONNECT.length + 10; // inside the subscribe object
        conn.ws.send(whole.slice(0, cut1), { fin: false });
        conn.ws.send(whole.slice(cut1, cut2), { fin: false });
        conn.ws.send(whole.slice(cut2), { fin: true });
        assertConnectOk(await conn.nextJson(WAIT_MS));
        const r2 = await conn.nextJson(WAIT_MS);
        assert.equal(r2.id, 2, JSON.stringify(r2));
        assert.equal(r2.error, undefined, `subscribe failed: ${JSON.stringify(r2)}`);
        assert.ok(r2.subscribe, JSON.stringify(r2));
        const res = await gyre.api('publish', { channel: 'frag', data: { n: 1 } });
        assert.equal(res.status, 200, res.text);
        const p = await conn.nextJson(WAIT_MS);
        assert.deepEqual(p.push?.channel, 'frag', JSON.stringify(p));
        assert.deepEqual(p.push?.pub?.data, { n: 1 }, JSON.stringify(p));
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('connect + subscribe in one frame → reply 1 strictly before reply 2, both succeed', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        conn.send('{"connect":{"name":"js"},"id":1}\n{"subscribe":{"channel":"news","flag":1},"id":2}');
        const r1 = await conn.nextJson(WAIT_MS);
        assertConnectOk(r1);
        const r2 = await conn.nextJson(WAIT_MS);
        assert.equal(r2.id, 2, JSON.stringify(r2));
        assert.equal(r2.error, undefined, `subscribe failed (must not be 'not connected'): ${JSON.stringify(r2)}`);
        assert.ok(r2.subscribe && typeof r2.subscribe === 'object', JSON.stringify(r2));
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('duplicate subscribe → error 105 already subscribed; connection and first sub survive', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        conn.send(CONNECT);
        assertConnectOk(await conn.nextJson(WAIT_MS));
        conn.send('{"subscribe":{"channel":"dup","flag":1},"id":2}');
        const r2 = await conn.nextJson(WAIT_MS);
        assert.equal(r2.id, 2);
        assert.ok(r2.subscribe, `first subscribe failed: ${JSON.stringify(r2)}`);
        conn.send('{"subscribe":{"channel":"dup","flag":1},"id":3}');
        const r3 = await conn.nextJson(WAIT_MS);
        assert.equal(r3.id, 3, JSON.stringify(r3));
        assert.equal(r3.subscribe, undefined, JSON.stringify(r3));
        assert.equal(r3.error?.code, 105, JSON.stringify(r3));
        assert.equal(r3.error?.message, 'already subscribed', JSON.stringify(r3));
        // Still connected, still subscribed exactly once.
        const res = await gyre.api('publish', { channel: 'dup', data: { n: 7 } });
        assert.equal(res.status, 200, res.text);
        const p = await conn.nextJson(WAIT_MS);
        assert.equal(p.push?.channel, 'dup', JSON.stringify(p));
        assert.deepEqual(p.push?.pub?.data, { n: 7 });
        const extra = await drainJson(conn, 300);
        assert.deepEqual(extra, [], 'the publication must be delivered once');
        assert.equal(conn.closeInfo, null, 'connection must stay open after error 105');
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('connect reply shape (§14.1): client, version, ping, pong; no session/node/expires', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        conn.send(CONNECT);
        const frame = await conn.next(WAIT_MS);
        assert.ok(!frame.includes('\n\n'), 'no empty line inside a frame');
        const r = JSON.parse(frame.trim().split('\n')[0]);
        assert.deepEqual(Object.keys(r).sort(), ['connect', 'id'], JSON.stringify(r));
        assert.equal(r.id, 1);
        const c = r.connect;
        assert.equal(typeof c.client, 'string');
        assert.ok(c.client.length > 0, 'client id must not be empty');
        assert.equal(typeof c.version, 'string');
        assert.ok(c.version.length > 0, 'version must not be empty');
        assert.equal(c.ping, 25, `ping interval (default 25 s): ${JSON.stringify(c)}`);
        assert.equal(c.pong, true, JSON.stringify(c));
        for (const k of ['session', 'node', 'expires', 'ttl']) {
          assert.equal(k in c, false, `'${k}' must be absent on WebSocket: ${JSON.stringify(c)}`);
        }
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('many bad WebSocket sessions in a row → server still serves', { timeout: 30000 }, async () => {
    await withWitness(
      gyre,
      async () => {
        const bad = ['', '{}', '{"connect":', '{"subscribe":{"channel":"x"},"id":1}', '\u0000\u0001'];
        const total = 100;
        const parallel = 10;
        let next = 0;
        const worker = async () => {
          while (next < total) {
            const i = next++;
            const conn = await openRaw(gyre.wsUrl);
            conn.send(bad[i % bad.length]);
            const info = await closedWithin(conn);
            assert.equal(info.code, 3501, `session ${i}: close ${info.code} '${info.reason}'`);
          }
        };
        await Promise.all(Array.from({ length: parallel }, worker));
        // A fresh connection still works.
        const conn = await openRaw(gyre.wsUrl);
        conn.send(CONNECT);
        assertConnectOk(await conn.nextJson(WAIT_MS));
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      },
      { sdk: true },
    );
  });
});

describe('bad input over WebSocket: small message_size_limit', () => {
  let gyre;
  before(async () => {
    gyre = await startGyre({ client: { insecure: true }, websocket: { message_size_limit: 1000 } });
  });
  after(async () => {
    disconnectAll();
    await gyre?.stop();
  });

  test('message_size_limit 1000: a 2000-byte message → close 1009', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      conn.send(CONNECT);
      assertConnectOk(await conn.nextJson(WAIT_MS));
      const head = '{"publish":{"channel":"news","data":{"p":"';
      const tail = '"}},"id":2}';
      const msg = head + 'z'.repeat(2000 - head.length - tail.length) + tail;
      assert.equal(msg.length, 2000);
      conn.send(msg);
      const info = await closedWithin(conn);
      assert.equal(info.code, 1009, `close ${info.code} '${info.reason}'`);
      assert.deepEqual(await drainJson(conn), []);
    });
  });

  test('message_size_limit 1000: a 1000-byte message is accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      try {
        conn.send(CONNECT);
        assertConnectOk(await conn.nextJson(WAIT_MS));
        const head = '{"publish":{"channel":"news","data":{"p":"';
        const tail = '"}},"id":2}';
        const msg = head + 'z'.repeat(1000 - head.length - tail.length) + tail;
        assert.equal(msg.length, 1000);
        conn.send(msg);
        assert.deepEqual(await conn.nextJson(WAIT_MS), { id: 2, publish: {} });
      } finally {
        await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
      }
    });
  });

  test('message_size_limit 1000: a 2000-byte message split into small fragments → close 1009', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const conn = await openRaw(gyre.wsUrl);
      conn.send(CONNECT);
      assertConnectOk(await conn.nextJson(WAIT_MS));
      const head = '{"publish":{"channel":"news","data":{"p":"';
      const tail = '"}},"id":2}';
      const msg = head + 'z'.repeat(2000 - head.length - tail.length) + tail;
      for (let i = 0; i < msg.length; i += 400) {
        conn.ws.send(msg.slice(i, i + 400), { fin: i + 400 >= msg.length });
      }
      const info = await closedWithin(conn);
      assert.equal(info.code, 1009, `close ${info.code} '${info.reason}'`);
      assert.deepEqual(await drainJson(conn), []);
    });
  });
});

describe('stale connections', () => {
  let gyre;
  before(async () => {
    gyre = await startGyre({ client: { insecure: true, stale_close_delay: '1s' } });
  });
  after(async () => {
    disconnectAll();
    await gyre?.stop();
  });

  test('socket that sends nothing → close 3502 stale after ~1 s; connected clients are not stale', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const t0 = Date.now();
      const conn = await openRaw(gyre.wsUrl);
      const info = await closedWithin(conn, 3000);
      const elapsed = Date.now() - t0;
      assert.deepEqual({ code: info.code, reason: info.reason }, { code: 3502, reason: 'stale' });
      assert.ok(elapsed >= 800, `closed too early (${elapsed} ms) for a 1 s stale delay`);
      assert.ok(elapsed <= 2500, `closed too late (${elapsed} ms) for a 1 s stale delay`);
      // The witness connected > 1 s ago; it must not have been closed as stale.
    });
  });
});

describe('ping/pong misuse (ping_interval 2s, pong_timeout 1s)', () => {
  // Raw witnesses would not answer pings, so these cases use SDK witnesses.
  let gyre;
  before(async () => {
    gyre = await startGyre({ client: { insecure: true, ping_interval: '2s', pong_timeout: '1s' } });
  });
  after(async () => {
    disconnectAll();
    await gyre?.stop();
  });

  async function connected() {
    const conn = await openRaw(gyre.wsUrl);
    conn.send(CONNECT);
    const r = await conn.nextJson(WAIT_MS);
    assertConnectOk(r);
    assert.equal(r.connect.ping, 2, JSON.stringify(r));
    assert.equal(r.connect.pong, true, JSON.stringify(r));
    return conn;
  }

  // The next server ping ({}), within the 2 s interval plus slack.
  async function nextPing(conn) {
    const m = await conn.nextJson(3000);
    assert.deepEqual(m, {}, `expected a server ping, got ${JSON.stringify(m)}`);
  }

  test('{} right after connect (no ping outstanding) → close 3501 bad request', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(
      gyre,
      async () => {
        const conn = await connected();
        conn.send('{}');
        const info = await closedWithin(conn);
        assert.deepEqual({ code: info.code, reason: info.reason }, { code: 3501, reason: 'bad request' });
      },
      { sdk: true },
    );
  });

  test('answered pings keep the connection; a second unsolicited {} → close 3501', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(
      gyre,
      async () => {
        const conn = await connected();
        await nextPing(conn);
        conn.send('{}');
        await nextPing(conn);
        conn.send('{}');
        assert.equal(conn.closeInfo, null, 'answered pings must keep the connection open');
        conn.send('{}');
        const info = await closedWithin(conn);
        assert.deepEqual({ code: info.code, reason: info.reason }, { code: 3501, reason: 'bad request' });
      },
      { sdk: true },
    );
  });

  test('unanswered ping → close 3012 no pong about pong_timeout after the ping', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(
      gyre,
      async () => {
        const conn = await connected();
        await nextPing(conn);
        const t0 = Date.now();
        const info = await closedWithin(conn, 3000);
        const elapsed = Date.now() - t0;
        assert.deepEqual({ code: info.code, reason: info.reason }, { code: 3012, reason: 'no pong' });
        assert.ok(elapsed >= 700, `closed ${elapsed} ms after the ping; pong_timeout is 1 s`);
        assert.ok(elapsed <= 2000, `closed ${elapsed} ms after the ping; pong_timeout is 1 s`);
      },
      { sdk: true },
    );
  });
});

describe('origin checks on the WebSocket handshake', () => {
  describe('allowed_origins: []', () => {
    let gyre;
    before(async () => {
      gyre = await startGyre({ client: { insecure: true, allowed_origins: [] } });
    });
    after(async () => {
      disconnectAll();
      await gyre?.stop();
    });

    test('Origin: http://evil.example → HTTP 403, no upgrade', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withWitness(gyre, async () => {
        const err = await openRaw(gyre.wsUrl, { headers: { Origin: 'http://evil.example' } }).then(
          async (conn) => {
            await conn.terminate();
            return null;
          },
          (e) => e,
        );
        assert.ok(err, 'the handshake must be refused');
        assert.equal(err.statusCode, 403, `expected HTTP 403, got: ${err.message}`);
        assert.equal(err.headers?.upgrade, undefined, 'a refused handshake has no Upgrade header');
      });
    });

    test('no Origin header → accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withWitness(gyre, async () => {
        const conn = await openRaw(gyre.wsUrl);
        try {
          conn.send(CONNECT);
          assertConnectOk(await conn.nextJson(WAIT_MS));
        } finally {
          await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
        }
      });
    });
  });

  describe('allowed_origins: ["http://*.good.example"]', () => {
    let gyre;
    before(async () => {
      gyre = await startGyre({ client: { insecure: true, allowed_origins: ['http://*.good.example'] } });
    });
    after(async () => {
      disconnectAll();
      await gyre?.stop();
    });

    test('Origin: http://app.good.example → accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withWitness(
        gyre,
        async () => {
          const conn = await openRaw(gyre.wsUrl, { headers: { Origin: 'http://app.good.example' } });
          try {
            conn.send(CONNECT);
            assertConnectOk(await conn.nextJson(WAIT_MS));
          } finally {
            await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
          }
        },
        { sdk: true },
      );
    });

    test('Origin: http://APP.Good.Example (case differs) → accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withWitness(gyre, async () => {
        const conn = await openRaw(gyre.wsUrl, { headers: { Origin: 'http://APP.Good.Example' } });
        try {
          conn.send(CONNECT);
          assertConnectOk(await conn.nextJson(WAIT_MS));
        } finally {
          await within(conn.close(), WAIT_MS, 'close').catch(() => conn.terminate());
        }
      });
    });

    for (const origin of ['http://evil.example', 'https://app.good.example', 'http://good.example.evil.example']) {
      test(`Origin: ${origin} → HTTP 403, no upgrade`, { timeout: TEST_TIMEOUT_MS }, async () => {
        await withWitness(gyre, async () => {
          const err = await openRaw(gyre.wsUrl, { headers: { Origin: origin } }).then(
            async (conn) => {
              await conn.terminate();
              return null;
            },
            (e) => e,
          );
          assert.ok(err, `the handshake with Origin ${origin} must be refused`);
          assert.equal(err.statusCode, 403, `expected HTTP 403, got: ${err.message}`);
          assert.equal(err.headers?.upgrade, undefined);
        });
      });
    }
  });
});

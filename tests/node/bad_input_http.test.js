// Bad input at the raw TCP / HTTP/1.1 level (the one HTTP layer that serves
// the API and WebSocket upgrades): garbage, broken upgrades, size limits
// (head 16 KiB → 431, API body 10 MiB → 413), keep-alive and pipelining,
// unknown paths, slow clients, and floods of bad connections.
//
// Every case checks the exact outcome, then that an SDK client and a raw
// WebSocket that connected and subscribed BEFORE the bad input still receive
// a server-API publication, and that the server process is still alive.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre, API_KEY } from './lib/server.js';
import { openRaw, rawTcp } from './lib/rawws.js';
import { newCentrifuge, waitFor, disconnectAll } from './lib/client.js';

const WAIT_MS = 5000; // every single wait is bounded by this (or less)
const TEST_TIMEOUT_MS = 20000;

// ---------------------------------------------------------------------------
// Local helpers

function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Parses as many complete HTTP/1.1 responses (Content-Length framed) as `text`
// holds. Returns {responses: [{status, reason, headers (lower-case), body}], rest}.
function parseResponses(text) {
  const responses = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(rest.slice(0, 200))}`);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    let len = 0;
    if (headers['content-length'] !== undefined) len = Number(headers['content-length']);
    else if (status !== 101 && status !== 204 && status !== 304) {
      // No length: body runs to the close.
      len = rest.length - end - 4;
    }
    if (rest.length < end + 4 + len) break;
    responses.push({ status, reason: m[2], headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return { responses, rest };
}

// Waits until `tcp` has received `n` complete responses; returns them.
async function readResponses(tcp, n, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const { responses } = parseResponses(tcp.received().toString('latin1'));
    if (responses.length >= n) return responses;
    if (tcp.isClosed) {
      throw new Error(`connection closed after ${responses.length}/${n} responses: ${JSON.stringify(tcp.received().toString('latin1').slice(0, 500))}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${n} responses; got ${JSON.stringify(tcp.received().toString('latin1').slice(0, 500))}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Sends `bytes` on a fresh socket and returns the first response.
async function oneShot(port, bytes) {
  const tcp = await rawTcp(port);
  try {
    await tcp.write(bytes);
    const [res] = await readResponses(tcp, 1);
    return { res, tcp };
  } catch (e) {
    tcp.destroy();
    throw e;
  }
}

function closedWithin(tcp, ms = WAIT_MS) {
  return within(tcp.closed, ms, 'the server to close the TCP connection');
}

function assertAlive(gyre) {
  assert.equal(gyre.proc.exitCode, null, `gyre exited (code ${gyre.proc.exitCode})\n${gyre.stderr().slice(-4000)}`);
  assert.equal(gyre.proc.signalCode, null, `gyre killed by ${gyre.proc.signalCode}\n${gyre.stderr().slice(-4000)}`);
}

let witnessSeq = 0;

// Two healthy connections, both subscribed to their own channel before the
// bad input: an SDK client and a raw WebSocket.
async function witnesses(gyre) {
  const seq = ++witnessSeq;
  const sdkChannel = `hw-sdk-${seq}`;
  const rawChannel = `hw-raw-${seq}`;

  const c = newCentrifuge(gyre.wsUrl);
  const connected = waitFor(c, 'connected', WAIT_MS);
  const sub = c.newSubscription(sdkChannel);
  const subscribed = waitFor(sub, 'subscribed', WAIT_MS);
  sub.subscribe();
  c.connect();
  await connected;
  await subscribed;

  const raw = await openRaw(gyre.wsUrl);
  raw.send(`{"connect":{"name":"js"},"id":1}\n{"subscribe":{"channel":"${rawChannel}","flag":1},"id":2}`);
  const r1 = await raw.nextJson(WAIT_MS);
  assert.ok(r1.id === 1 && r1.connect, `raw witness connect: ${JSON.stringify(r1)}`);
  const r2 = await raw.nextJson(WAIT_MS);
  assert.ok(r2.id === 2 && r2.subscribe, `raw witness subscribe: ${JSON.stringify(r2)}`);

  let n = 0;
  return {
    async check() {
      assertAlive(gyre);
      const marker = `alive-${seq}-${++n}`;
      const sdkGot = new Promise((resolve) => {
        const onPub = (ctx) => {
          if (ctx.data?.marker === marker) {
            sub.removeListener('publication', onPub);
            resolve();
          }
        };
        sub.on('publication', onPub);
      });
      for (const channel of [sdkChannel, rawChannel]) {
        const res = await gyre.api('publish', { channel, data: { marker } });
        assert.equal(res.status, 200, `API publish: ${res.status} ${res.text}`);
        assert.equal(res.json?.error, undefined, res.text);
      }
      await within(sdkGot, WAIT_MS, `SDK witness publication ${marker}`);
      for (;;) {
        const m = await raw.nextJson(WAIT_MS);
        if (m.push?.channel === rawChannel && m.push.pub?.data?.marker === marker) break;
      }
      assert.equal(c.state, 'connected');
      assert.equal(raw.closeInfo, null, 'raw witness was closed');
      assertAlive(gyre);
    },
    async close() {
      c.disconnect();
      await within(raw.close(), WAIT_MS, 'raw witness close').catch(() => raw.terminate());
    },
  };
}

async function withWitness(gyre, fn) {
  const w = await witnesses(gyre);
  try {
    await fn();
    await w.check();
  } finally {
    await w.close();
  }
}

const WS_HEAD = (extra = '') =>
  'GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

const INFO_REQ = `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;

function assertInfoOk(res) {
  assert.equal(res.status, 200, `${res.status} ${res.body}`);
  const j = JSON.parse(res.body);
  assert.ok(Array.isArray(j.result?.nodes), res.body);
}

// ---------------------------------------------------------------------------

describe('bad input at the HTTP level', () => {
  let gyre;
  before(async () => {
    gyre = await startGyre({ client: { insecure: true } });
  });
  after(async () => {
    disconnectAll();
    await gyre?.stop();
  });

  test('garbage bytes → HTTP 400 and the server closes the connection', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const { res, tcp } = await oneShot(gyre.port, Buffer.from('\x00\x01garbage\r\n\r\n', 'latin1'));
      assert.equal(res.status, 400, `${res.status} ${res.body}`);
      await closedWithin(tcp);
    });
  });

  test('GET /connection/websocket without Upgrade headers → 400, no upgrade', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const { res, tcp } = await oneShot(
        gyre.port,
        'GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
      );
      tcp.destroy();
      assert.equal(res.status, 400, `${res.status} ${res.body}`);
      assert.equal(res.headers.upgrade, undefined);
    });
  });

  test('Sec-WebSocket-Version: 8 → 426 with Sec-WebSocket-Version: 13', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const { res, tcp } = await oneShot(gyre.port, WS_HEAD('Sec-WebSocket-Version: 8\r\n'));
      tcp.destroy();
      assert.equal(res.status, 426, `${res.status} ${res.body}`);
      assert.match(res.headers['sec-websocket-version'] ?? '', /\b13\b/, 'RFC 6455 §4.4: advertise the supported version');
      assert.equal(res.headers.upgrade, undefined);
    });
  });

  test('request head larger than 16 KiB → 431 and close', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const head = `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nX-Huge: ${'h'.repeat(20000)}\r\nContent-Length: 2\r\n\r\n{}`;
      const tcp = await rawTcp(gyre.port);
      // The server may answer and close while we are still writing.
      await tcp.write(head).catch(() => {});
      const [res] = await readResponses(tcp, 1);
      assert.equal(res.status, 431, `${res.status} ${res.body}`);
      await closedWithin(tcp);
    });
  });

  test('POST /api/publish with Content-Length: 20000000 → 413 (without sending the body) and close', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const { res, tcp } = await oneShot(
        gyre.port,
        `POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n`,
      );
      assert.equal(res.status, 413, `${res.status} ${res.body}`);
      await closedWithin(tcp);
    });
  });

  test('two pipelined POST /api/info in one write → two 200 responses on the same socket', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const tcp = await rawTcp(gyre.port);
      try {
        await tcp.write(INFO_REQ + INFO_REQ);
        const rs = await readResponses(tcp, 2);
        assert.equal(rs.length, 2, `expected exactly 2 responses, got ${rs.length}`);
        for (const r of rs) assertInfoOk(r);
        // Keep-alive: still open and usable for a third request.
        assert.equal(tcp.isClosed, false, 'keep-alive connection was closed');
        await tcp.write(INFO_REQ);
        const rs3 = await readResponses(tcp, 3);
        assertInfoOk(rs3[2]);
      } finally {
        tcp.destroy();
      }
    });
  });

  test('pipelined requests are answered in order (info, 404, publish, info)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const tcp = await rawTcp(gyre.port);
      try {
        const pub = '{"channel":"pipe","data":{"x":1}}';
        await tcp.write(
          INFO_REQ +
            'GET /no/such/path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' +
            `POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Length: ${pub.length}\r\n\r\n${pub}` +
            INFO_REQ,
        );
        const rs = await readResponses(tcp, 4);
        assertInfoOk(rs[0]);
        assert.equal(rs[1].status, 404, `${rs[1].status} ${rs[1].body}`);
        assert.equal(rs[2].status, 200, `${rs[2].status} ${rs[2].body}`);
        assert.deepEqual(JSON.parse(rs[2].body), { result: {} });
        assertInfoOk(rs[3]);
      } finally {
        tcp.destroy();
      }
    });
  });

  test('Connection: close → the server closes after the response', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const { res, tcp } = await oneShot(
        gyre.port,
        `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`,
      );
      assertInfoOk(res);
      await closedWithin(tcp, 3000);
      const { responses, rest } = parseResponses(tcp.received().toString('latin1'));
      assert.equal(responses.length, 1);
      assert.equal(rest, '', 'nothing may follow the response');
    });
  });

  test('unknown path → 404 with body "404 page not found"', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      for (const path of ['/definitely/not/here', '/api/unknown_method', '/api/publish/']) {
        const { res, tcp } = await oneShot(
          gyre.port,
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Length: 2\r\n\r\n{}`,
        );
        tcp.destroy();
        assert.equal(res.status, 404, `${path}: ${res.status} ${res.body}`);
        // Go's http.NotFound writes the text plus a newline; accept either.
        assert.equal(res.body.replace(/\n$/, ''), '404 page not found', `${path}: ${JSON.stringify(res.body)}`);
      }
    });
  });

  test('a client stalled halfway through its request head does not block others', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const stalled = [];
      try {
        for (let i = 0; i < 5; i++) {
          const s = await rawTcp(gyre.port);
          await s.write(`POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-K`);
          stalled.push(s);
        }
        const ws = await rawTcp(gyre.port);
        await ws.write(WS_HEAD('Sec-WebSocket-Version: 13\r\n').slice(0, 40)); // half an upgrade too
        stalled.push(ws);
        const t0 = Date.now();
        const { res, tcp } = await oneShot(gyre.port, INFO_REQ);
        tcp.destroy();
        assertInfoOk(res);
        assert.ok(Date.now() - t0 < 2000, `answered only after ${Date.now() - t0} ms`);
        for (const s of stalled) assert.equal(s.isClosed, false, 'a stalled client is not an error (yet)');
      } finally {
        for (const s of stalled) s.destroy();
      }
    });
  });

  test('a WebSocket client stalled halfway through a frame does not block others', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const tcp = await rawTcp(gyre.port);
      try {
        await tcp.write(WS_HEAD('Sec-WebSocket-Version: 13\r\n'));
        await tcp.readUntil('\r\n\r\n', WAIT_MS);
        assert.match(tcp.received().toString('latin1'), /^HTTP\/1\.1 101 /);
        // Masked text frame header announcing 100 bytes, then only 3 of them.
        await tcp.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4, 0x7a, 0x21, 0x60]));
        const { res, tcp: other } = await oneShot(gyre.port, INFO_REQ);
        other.destroy();
        assertInfoOk(res);
      } finally {
        tcp.destroy();
      }
    });
  });

  test('unmasked client frame → WebSocket closed (RFC 6455 §5.1: protocol error)', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const tcp = await rawTcp(gyre.port);
      try {
        await tcp.write(WS_HEAD('Sec-WebSocket-Version: 13\r\n'));
        await tcp.readUntil('\r\n\r\n', WAIT_MS);
        const conn = '{"connect":{"name":"js"},"id":1}';
        await tcp.write(Buffer.concat([Buffer.from([0x81, conn.length]), Buffer.from(conn)]));
        const text = await tcp.readUntilClose(WAIT_MS);
        assert.ok(!text.includes('"connect":{"client"'), 'an unmasked connect must not be executed');
      } finally {
        tcp.destroy();
      }
    });
  });

  for (const [name, bytes] of [
    ['Content-Length: abc', `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Length: abc\r\n\r\n{}`],
    ['Content-Length: -2', `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Length: -2\r\n\r\n{}`],
    ['a malformed chunk size', `POST /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
  ]) {
    test(`${name} → 400 and close`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withWitness(gyre, async () => {
        const { res, tcp } = await oneShot(gyre.port, bytes);
        assert.equal(res.status, 400, `${res.status} ${res.body}`);
        await closedWithin(tcp);
      });
    });
  }

  test('a valid request trickled one byte per write is still answered', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withWitness(gyre, async () => {
      const tcp = await rawTcp(gyre.port);
      try {
        for (const ch of INFO_REQ) await tcp.write(ch);
        const [res] = await readResponses(tcp, 1);
        assertInfoOk(res);
      } finally {
        tcp.destroy();
      }
    });
  });

  test('many bad connections in a row (200 garbage, 20 at a time) → server still serves', { timeout: 60000 }, async () => {
    await withWitness(gyre, async () => {
      const total = 200;
      let next = 0;
      const kinds = [
        Buffer.from('\x00\x01garbage\r\n\r\n', 'latin1'),
        Buffer.from('NOT HTTP AT ALL\r\n\r\n'),
        Buffer.from('GET / HTTP/1.1\r\nHeaderWithoutColon\r\n\r\n'),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]), // TLS-ish
      ];
      const worker = async () => {
        while (next < total) {
          const i = next++;
          const tcp = await rawTcp(gyre.port);
          try {
            await tcp.write(kinds[i % kinds.length]).catch(() => {});
            const text = await tcp.readUntilClose(WAIT_MS);
            assert.match(text, /^HTTP\/1\.1 400 /, `connection ${i}: ${JSON.stringify(text.slice(0, 100))}`);
          } finally {
            tcp.destroy();
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, worker));
      // Plus connections that just open and vanish.
      for (let i = 0; i < 50; i++) {
        const tcp = await rawTcp(gyre.port);
        tcp.destroy();
      }
      const { res, tcp } = await oneShot(gyre.port, INFO_REQ);
      tcp.destroy();
      assertInfoOk(res);
    });
  });
});

// Centrifugo's unidirectional transports, served by the transport-sse
// plugin, driven by clients that know nothing of the protocol's commands:
// uni_sse through an EventSource (the eventsource package) and through
// `curl -N`, uni_http_stream through curl, uni_websocket through a raw
// WebSocket. Each gets the connect push, its server-side subscriptions
// (from the token's channels claim and from the server API), publications,
// pings, and the disconnect push that ends the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { keyFor, mint } from './lib/jwt.js';
import { openRaw } from './lib/rawws.js';
import { startGyre } from './lib/server.js';
import { curlStream } from './lib/streams.js';

const TEST_TIMEOUT = 30_000;

const key = await keyFor('HS256');

const CONFIG = {
  client: {
    token: key.config,
    allow_anonymous_connect_without_token: true,
    // Frequent pings, so that a test sees one without waiting 25 s.
    ping_interval: '1s',
    pong_timeout: '500ms',
  },
  uni_sse: { enabled: true },
  uni_http_stream: { enabled: true },
  uni_websocket: { enabled: true },
  channel: {
    namespaces: [{ name: 'news', history_size: 50, history_ttl: '300s', force_recovery: true }],
  },
};

async function server(t, config = CONFIG) {
  const gyre = await startGyre(config);
  t.after(() => gyre.stop());
  return gyre;
}

async function api(gyre, method, body) {
  const r = await gyre.api(method, body);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && !r.json.error, `${method}: ${r.text}`);
  return r.json.result;
}

const tokenFor = (user, channels) => mint({ sub: user, channels }, key, { expiresIn: 600 });

// What every unidirectional stream must show, whoever reads it: `s` has
// nextPush() (skipping pings) and nextJson().
async function checkSession(gyre, s, user) {
  const first = await s.nextPush();
  assert.ok(first.connect, `first push is connect: ${JSON.stringify(first)}`);
  const { client, session, subs } = first.connect;
  assert.ok(client && session, 'client and session ids');
  assert.equal(first.connect.node, undefined, 'no node on unidirectional streams');
  assert.equal(first.connect.ping, 1, 'ping interval in seconds');
  assert.ok(subs && subs['news:token'], `channels claim subscribed: ${JSON.stringify(first)}`);

  await api(gyre, 'publish', { channel: 'news:token', data: { n: 1 } });
  assert.deepEqual(await s.nextPush(), { channel: 'news:token', pub: { data: { n: 1 }, offset: 1 } });

  // A subscription made by the server API while the stream is open.
  await api(gyre, 'subscribe', { user, channel: 'news:api' });
  const sub = await s.nextPush();
  assert.equal(sub.channel, 'news:api');
  assert.ok(sub.subscribe, JSON.stringify(sub));
  await api(gyre, 'publish', { channel: 'news:api', data: { n: 2 } });
  assert.deepEqual(await s.nextPush(), { channel: 'news:api', pub: { data: { n: 2 }, offset: 1 } });

  // Pings are empty objects; nobody answers them and the stream stays.
  let ping;
  for (let i = 0; i < 5 && !ping; i++) {
    const m = await s.nextJson(3000);
    if (Object.keys(m).length === 0) ping = m;
  }
  assert.deepEqual(ping, {}, 'a ping arrived');

  await api(gyre, 'disconnect', { user, disconnect: { code: 4501, reason: 'bye' } });
  assert.deepEqual(await s.nextPush(), { disconnect: { code: 4501, reason: 'bye' } });
  return client;
}

test('uni_sse with EventSource: connect push, subscriptions, publications, pings, disconnect', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const token = await tokenFor('es-user', ['news:token']);
  const url = `${gyre.url}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}`;
  const inbox = [];
  const waiters = [];
  const es = new EventSource(url);
  t.after(() => es.close());
  es.onmessage = (e) => {
    inbox.push(JSON.parse(e.data));
    for (const w of waiters.splice(0)) w();
  };
  const nextJson = async (timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!inbox.length) {
      if (Date.now() > deadline) throw new Error('timed out waiting for an event');
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return inbox.shift();
  };
  const s = {
    nextJson,
    async nextPush(timeoutMs) {
      for (;;) {
        const m = await nextJson(timeoutMs);
        if (Object.keys(m).length) return m;
      }
    },
  };
  await checkSession(gyre, s, 'es-user');
  es.close(); // EventSource would reconnect on its own after the stream ends
});

test('uni_sse with curl -N: the same session, then the stream ends cleanly', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const token = await tokenFor('curl-user', ['news:token']);
  const q = encodeURIComponent(JSON.stringify({ token }));
  const headerFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-uni-')), 'headers');
  t.after(() => fs.rmSync(path.dirname(headerFile), { recursive: true, force: true }));
  const s = curlStream(['-D', headerFile, `${gyre.url}/connection/uni_sse?cf_connect=${q}`], {
    framing: 'sse',
  });
  t.after(() => s.kill());
  await checkSession(gyre, s, 'curl-user');
  const { code, stderr: curlErr } = await s.exited;
  assert.equal(code, 0, `curl saw a complete chunked response: ${curlErr}`);
  const head = fs.readFileSync(headerFile, 'utf8');
  assert.match(head, /content-type: text\/event-stream; charset=utf-8/i);
  assert.match(head, /x-accel-buffering: no/i);
  assert.match(head, /cache-control: private, no-cache/i);
  assert.match(head, /transfer-encoding: chunked/i);
});

test('uni_sse accepts the connect request as a POST body', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t);
  const token = await tokenFor('post-user', ['news:token']);
  const s = curlStream(['-X', 'POST', '-d', JSON.stringify({ token }), `${gyre.url}/connection/uni_sse`], {
    framing: 'sse',
  });
  t.after(() => s.kill());
  await checkSession(gyre, s, 'post-user');
  assert.equal((await s.exited).code, 0);
});

test('uni_http_stream with curl: newline-delimited pushes', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t);
  const token = await tokenFor('stream-user', ['news:token']);
  const s = curlStream(['-X', 'POST', '-d', JSON.stringify({ token }), `${gyre.url}/connection/uni_http_stream`]);
  t.after(() => s.kill());
  await checkSession(gyre, s, 'stream-user');
  assert.equal((await s.exited).code, 0);
});

test('uni_http_stream: recovery of a server-side subscription from the connect request', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  let last;
  for (let n = 1; n <= 5; n++) last = await api(gyre, 'publish', { channel: 'news:token', data: { n } });
  const token = await tokenFor('rec-user', ['news:token']);
  // The client saw up to offset 2 of this epoch before it went away.
  const body = { token, subs: { 'news:token': { recover: true, offset: 2, epoch: last.epoch } } };
  const s = curlStream(['-X', 'POST', '-d', JSON.stringify(body), `${gyre.url}/connection/uni_http_stream`]);
  t.after(() => s.kill());
  const { connect } = await s.nextPush();
  const sub = connect.subs['news:token'];
  assert.equal(sub.recovered, true, JSON.stringify(connect));
  assert.deepEqual(
    sub.publications.map((p) => p.data.n),
    [3, 4, 5],
  );
  // As on a subscribe (spec 6.3): the offset the client sent, from which it
  // steps through the publications.
  assert.equal(sub.offset, 2);
  assert.equal(sub.epoch, last.epoch);
});

test('uni_http_stream: anonymous {} connects; a bad token gets a disconnect push', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const anon = curlStream(['-X', 'POST', '-d', '{}', `${gyre.url}/connection/uni_http_stream`]);
  t.after(() => anon.kill());
  const { connect } = await anon.nextPush();
  assert.ok(connect.client);
  assert.equal(connect.subs, undefined, 'nothing subscribed');

  const bad = curlStream(['-X', 'POST', '-d', '{"token":"not-a-jwt"}', `${gyre.url}/connection/uni_http_stream`]);
  t.after(() => bad.kill());
  assert.deepEqual(await bad.nextPush(), { disconnect: { code: 3500, reason: 'invalid token' } });
  assert.equal((await bad.exited).code, 0, 'the stream ends after the push');
});

test('uni_websocket: connect request as the first message', { timeout: TEST_TIMEOUT }, async (t) => {
  const gyre = await server(t);
  const ws = await openRaw(`ws://127.0.0.1:${gyre.port}/connection/uni_websocket`);
  t.after(() => ws.terminate());
  ws.sendJson({ token: await tokenFor('ws-user', ['news:token']) });
  const s = {
    nextJson: (ms) => ws.nextJson(ms),
    async nextPush(ms) {
      for (;;) {
        const m = await ws.nextJson(ms);
        if (Object.keys(m).length) return m;
      }
    },
  };
  await checkSession(gyre, s, 'ws-user');
  const { code, reason } = await ws.closed;
  assert.equal(code, 4501, 'and a close frame with the same code');
  assert.equal(reason, 'bye');
});

test('uni_websocket: connect request in the query; later messages are ignored', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const token = await tokenFor('q-user', ['news:token']);
  const q = encodeURIComponent(JSON.stringify({ token }));
  const ws = await openRaw(`ws://127.0.0.1:${gyre.port}/connection/uni_websocket?cf_connect=${q}`);
  t.after(() => ws.terminate());
  const { connect } = await ws.nextJson();
  assert.ok(connect.subs['news:token']);
  ws.sendJson({ token: 'something else' }); // not a second connect
  ws.send('garbage');
  await api(gyre, 'publish', { channel: 'news:token', data: { n: 9 } });
  let m;
  do m = await ws.nextJson();
  while (Object.keys(m).length === 0);
  assert.deepEqual(m, { channel: 'news:token', pub: { data: { n: 9 }, offset: 1 } });
});

test('uni_websocket: ping frames check the peer; one that never answers is closed with 3012', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const gyre = await server(t);
  const url = `ws://127.0.0.1:${gyre.port}/connection/uni_websocket`;
  // A live peer: `ws` answers ping frames by itself, and stays through several pings.
  const live = await openRaw(url);
  t.after(() => live.terminate());
  let pings = 0;
  live.ws.on('ping', () => pings++);
  live.sendJson({});
  assert.ok((await live.nextJson()).connect);
  // A dead one: never answers.
  const dead = await openRaw(url, { autoPong: false });
  t.after(() => dead.terminate());
  dead.sendJson({});
  assert.ok((await dead.nextJson()).connect);
  const { code, reason } = await dead.closed; // ping_interval 1 s + pong_timeout 0.5 s
  assert.equal(code, 3012);
  assert.equal(reason, 'no pong');
  for (let i = 0; i < 3; i++) assert.deepEqual(await live.nextJson(3000), {}, 'app pings keep coming');
  assert.ok(pings >= 2, `ping frames seen by the live peer: ${pings}`);
  assert.equal(live.closeInfo, null, 'the live peer is still connected');
});

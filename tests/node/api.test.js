// HTTP server API: the black-box cases of spec server-api.md §9 (1–33, 35),
// plus success shapes for every method, transport error mode, bad bodies,
// batch, legacy /api and effects on connected SDK clients.
//
// Authentication variants, case 34 (no key), `http_api.insecure` and the
// `http_api.error_mode` config option live in api_auth.test.js.
//
// Tests inside one describe() run in order and share one server, so later
// tests may rely on state (history offsets) left by earlier ones; each test
// says what it relies on.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor, collect, waitUntil } from './lib/client.js';

const KEY = 'k';

// The assumed config of §9.
const SPEC_CONFIG = {
  http_api: { key: KEY },
  health: { enabled: true },
  channel: {
    without_namespace: { presence: true, history_size: 10, history_ttl: '300s' },
    namespaces: [{ name: 'chat' }, { name: 'obj', publication_data_format: 'json_object' }],
  },
};

const ERR = {
  internal: { code: 100, message: 'internal server error' },
  unknownChannel: { code: 102, message: 'unknown channel' },
  notFound: { code: 104, message: 'not found' },
  badRequest: { code: 107, message: 'bad request' },
  notAvailable: { code: 108, message: 'not available' },
  unrecoverable: { code: 112, message: 'unrecoverable position' },
};

const TRANSPORT = { 'X-Centrifugo-Error-Mode': 'transport' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Asserts status, exact Content-Type (for 200 JSON answers) and the parsed body.
function expectJson(r, expected, status = 200) {
  assert.equal(r.status, status, `status; body: ${r.text}`);
  if (status === 200) {
    assert.equal(r.headers.get('content-type'), 'application/json', 'content-type');
  }
  assert.notEqual(r.json, undefined, `body is not JSON: ${JSON.stringify(r.text)}`);
  assert.deepStrictEqual(r.json, expected);
}

// 200 + {"error": err}
const expectError = (r, err) => expectJson(r, { error: err });

// Transport error mode: mapped status, bare error object as body.
function expectTransportError(r, status, err) {
  assert.equal(r.status, status, `status; body: ${r.text}`);
  assert.notEqual(r.json, undefined, `body is not JSON: ${JSON.stringify(r.text)}`);
  assert.deepStrictEqual(r.json, err);
}

function expectEmpty(r, status) {
  assert.equal(r.status, status, `status; body: ${r.text}`);
  assert.equal(r.text, '', 'body must be empty');
}

function expectBadRequestText(r) {
  assert.equal(r.status, 400, `status; body: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/, 'content-type');
  assert.equal(r.text.trim(), 'Bad Request');
}

// Epochs must be non-empty strings, constant per channel within a server run.
function makeEpochTracker() {
  const seen = new Map();
  return (channel, epoch) => {
    assert.equal(typeof epoch, 'string', `epoch of ${channel} must be a string`);
    assert.ok(epoch.length > 0, `epoch of ${channel} must be non-empty`);
    if (seen.has(channel)) assert.equal(epoch, seen.get(channel), `epoch of ${channel} changed`);
    else seen.set(channel, epoch);
    return epoch;
  };
}

// Result of a history-enabled publish: {offset: <offset>, epoch: E}.
function expectPosition(r, channel, offset, checkEpoch) {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.deepStrictEqual(Object.keys(r.json ?? {}), ['result'], r.text);
  assert.deepStrictEqual(Object.keys(r.json.result).sort(), ['epoch', 'offset'], r.text);
  assert.equal(r.json.result.offset, offset, r.text);
  checkEpoch(channel, r.json.result.epoch);
  return r.json.result;
}

function hs256(claims, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  const sig = crypto.createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

// ---------------------------------------------------------------------------

describe('server API: §9 black-box cases (assumed config)', () => {
  let g;
  const epoch = makeEpochTracker();
  const call = (method, body, opts = {}) => g.api(method, body, { key: KEY, ...opts });
  const raw = (path, init = {}) => fetch(`${g.url}${path}`, init);
  const post = async (path, body, headers = {}) => {
    const res = await raw(path, { method: 'POST', headers, body });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };

  before(async () => {
    g = await startGyre(SPEC_CONFIG);
  });
  after(async () => {
    await g?.stop();
  });

  test('#1 POST /api/publish without key -> 401, empty body', async () => {
    const r = await call('publish', { channel: 'chat:1', data: {} }, { key: null });
    expectEmpty(r, 401);
  });

  test('#2 GET /api/publish without key -> 405, empty body (method checked before auth)', async () => {
    const res = await raw('/api/publish');
    expectEmpty({ status: res.status, text: await res.text() }, 405);
  });

  const checkInfoShape = (r) => {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepStrictEqual(Object.keys(r.json), ['result'], r.text);
    assert.deepStrictEqual(Object.keys(r.json.result), ['nodes'], r.text);
    const nodes = r.json.result.nodes;
    assert.equal(nodes.length, 1, r.text);
    const n = nodes[0];
    assert.equal(typeof n.uid, 'string');
    assert.ok(n.uid.length > 0, 'uid non-empty');
    assert.equal(typeof n.name, 'string');
    assert.ok(n.name.length > 0, 'name non-empty');
    assert.equal(typeof n.version, 'string');
    assert.ok(n.version.endsWith(' OSS'), `version ${n.version} must end with " OSS"`);
    assert.equal(n.num_clients, 0);
    assert.equal(n.num_users, 0);
    assert.equal(n.num_channels, 0);
    assert.equal(n.num_subs, 0);
    return n;
  };

  let nodeUid;
  test('#3 POST /api/info with Authorization: apikey k -> one node', async () => {
    const r = await call('info', {}, { key: null, headers: { Authorization: `apikey ${KEY}` } });
    nodeUid = checkInfoShape(r).uid;
  });

  test('#4 POST /api/info?api_key=k, no headers -> same shape', async () => {
    const r = await post(`/api/info?api_key=${KEY}`, '{}');
    const n = checkInfoShape(r);
    assert.equal(n.uid, nodeUid, 'uid is stable within a run');
  });

  test('#5 publish to chat:1 (no history) -> {"result":{}}', async () => {
    expectJson(await call('publish', { channel: 'chat:1', data: { text: 'hi' } }), { result: {} });
  });

  test('#6 two publishes to news -> offsets 1 and 2, same epoch', async () => {
    expectPosition(await call('publish', { channel: 'news', data: { n: 1 } }), 'news', 1, epoch);
    expectPosition(await call('publish', { channel: 'news', data: { n: 2 } }), 'news', 2, epoch);
  });

  test('#7 publish to unknown namespace -> 102', async () => {
    expectError(await call('publish', { channel: 'nope:1', data: {} }), ERR.unknownChannel);
  });

  test('#8 #7 in transport error mode -> 404 + bare error', async () => {
    const r = await call('publish', { channel: 'nope:1', data: {} }, { headers: TRANSPORT });
    expectTransportError(r, 404, ERR.unknownChannel);
  });

  test('#9 publish without data -> 107', async () => {
    expectError(await call('publish', { channel: 'chat:1' }), ERR.badRequest);
  });

  test('#10 truncated JSON body -> 400 text "Bad Request"', async () => {
    expectBadRequestText(await call('publish', '{"channel":'));
  });

  test('#11 json_object namespace: string data -> 107, object -> {}', async () => {
    expectError(await call('publish', { channel: 'obj:1', data: 'str' }), ERR.badRequest);
    expectJson(await call('publish', { channel: 'obj:1', data: { a: 1 } }), { result: {} });
  });

  test('#12 b64data: invalid -> 107, valid -> {}', async () => {
    expectError(await call('publish', { channel: 'chat:1', b64data: '%%' }), ERR.badRequest);
    expectJson(await call('publish', { channel: 'chat:1', b64data: 'aGk=' }), { result: {} });
  });

  // #15/#16/#17 run right after #6: news holds offsets 1 and 2.
  test('#15 history without limit -> no publications, top position', async () => {
    const r = await call('history', { channel: 'news' });
    expectJson(r, { result: { publications: [], epoch: r.json?.result?.epoch, offset: 2 } });
    epoch('news', r.json.result.epoch);
  });

  test('#16 history limit 1 reverse -> newest publication', async () => {
    const r = await call('history', { channel: 'news', limit: 1, reverse: true });
    expectJson(r, {
      result: { publications: [{ data: { n: 2 }, offset: 2 }], epoch: r.json?.result?.epoch, offset: 2 },
    });
    epoch('news', r.json.result.epoch);
  });

  test('#17 history since wrong epoch -> 112; transport mode -> 416', async () => {
    const body = { channel: 'news', limit: 10, since: { offset: 0, epoch: 'WRONG' } };
    expectError(await call('history', body), ERR.unrecoverable);
    expectTransportError(await call('history', body, { headers: TRANSPORT }), 416, ERR.unrecoverable);
  });

  test('#18 history in namespace without history -> 108; transport mode -> 400', async () => {
    const body = { channel: 'chat:1', limit: 10 };
    expectError(await call('history', body), ERR.notAvailable);
    expectTransportError(await call('history', body, { headers: TRANSPORT }), 400, ERR.notAvailable);
  });

  test('#19 history_remove keeps top offset and epoch', async () => {
    expectJson(await call('history_remove', { channel: 'news' }), { result: {} });
    const r = await call('history', { channel: 'news', limit: -1 });
    expectJson(r, { result: { publications: [], epoch: r.json?.result?.epoch, offset: 2 } });
    epoch('news', r.json.result.epoch);
  });

  // After #19: news is empty with top offset 2.
  let idemOffset;
  test('#13 idempotent publish twice -> same position, stored once', async () => {
    const body = { channel: 'news', data: {}, idempotency_key: 'x' };
    const first = expectPosition(await call('publish', body), 'news', 3, epoch);
    const second = await call('publish', body);
    expectJson(second, { result: first });
    idemOffset = first.offset;
    const h = await call('history', { channel: 'news', limit: -1 });
    assert.equal(h.status, 200, h.text);
    assert.equal(h.json.result.offset, idemOffset, 'top offset must not advance on a duplicate');
    const hits = h.json.result.publications.filter((p) => p.offset === idemOffset);
    assert.equal(hits.length, 1, h.text);
    assert.equal(h.json.result.publications.length, 1, h.text);
  });

  let versionTop;
  test('#14 stale version is dropped silently, returns current top', async () => {
    const hi = expectPosition(
      await call('publish', { channel: 'news', data: { v: 2 }, version: 2 }),
      'news',
      idemOffset + 1,
      epoch,
    );
    versionTop = hi.offset;
    const lo = await call('publish', { channel: 'news', data: { v: 1 }, version: 1 });
    expectJson(lo, { result: { offset: versionTop, epoch: hi.epoch } });
    const h = await call('history', { channel: 'news', limit: -1 });
    assert.equal(h.status, 200, h.text);
    assert.equal(h.json.result.offset, versionTop, h.text);
    assert.ok(
      !h.json.result.publications.some((p) => JSON.stringify(p.data) === '{"v":1}'),
      `stale publication stored: ${h.text}`,
    );
    assert.ok(
      h.json.result.publications.some((p) => p.offset === versionTop && JSON.stringify(p.data) === '{"v":2}'),
      h.text,
    );
  });

  test('#20 presence / presence_stats with nobody subscribed', async () => {
    expectJson(await call('presence', { channel: 'news' }), { result: { presence: {} } });
    expectJson(await call('presence_stats', { channel: 'news' }), {
      result: { num_clients: 0, num_users: 0 },
    });
  });

  test('#21 presence: namespace without presence -> 108; empty channel -> 107', async () => {
    expectError(await call('presence', { channel: 'chat:1' }), ERR.notAvailable);
    expectError(await call('presence', {}), ERR.badRequest);
  });

  test('#22 broadcast: per-channel results in input order', async () => {
    const r = await call('broadcast', { channels: ['news', 'chat:1', 'nope:x', ''], data: { b: 1 } });
    const first = r.json?.result?.responses?.[0]?.result;
    expectJson(r, {
      result: {
        responses: [
          { result: { offset: versionTop + 1, epoch: first?.epoch } },
          { result: {} },
          { error: ERR.unknownChannel },
          { error: ERR.badRequest },
        ],
      },
    });
    epoch('news', first.epoch);
  });

  test('#23 broadcast with empty channels -> 107', async () => {
    expectError(await call('broadcast', { channels: [], data: {} }), ERR.badRequest);
  });

  test('#24 batch: success, 102, unknown command 104, null 107', async () => {
    const r = await call('batch', {
      commands: [
        { publish: { channel: 'chat:1', data: {} } },
        { publish: { channel: 'x:y', data: {} } },
        {},
        null,
      ],
    });
    expectJson(r, {
      replies: [
        { publish: {} },
        { error: ERR.unknownChannel },
        { error: ERR.notFound },
        { error: ERR.badRequest },
      ],
    });
  });

  test('#25 empty batch -> {}', async () => {
    expectJson(await call('batch', { commands: [] }), {});
  });

  test('#26 channels with no clients -> {}; bad glob -> 100', async () => {
    expectJson(await call('channels', {}), { result: { channels: {} } });
    expectError(await call('channels', { pattern: '[' }), ERR.internal);
  });

  test('#27 rpc: unknown method -> 104; empty method -> 107', async () => {
    expectError(await call('rpc', { method: 'anything' }), ERR.notFound);
    expectError(await call('rpc', {}), ERR.badRequest);
  });

  test('#28 disconnect / refresh / unsubscribe of an absent user -> {}', async () => {
    expectJson(await call('disconnect', { user: '42' }), { result: {} });
    expectJson(await call('refresh', { user: '42', expired: true }), { result: {} });
    expectJson(await call('unsubscribe', { user: '42', channel: 'chat:1' }), { result: {} });
  });

  test('#29 subscribe empty channel -> 107; unknown ns -> 102; unsubscribe unknown ns -> 102', async () => {
    expectError(await call('subscribe', { user: '42', channel: '' }), ERR.badRequest);
    expectError(await call('subscribe', { user: '42', channel: 'nope:1' }), ERR.unknownChannel);
    expectError(await call('unsubscribe', { user: '42', channel: 'nope:1' }), ERR.unknownChannel);
  });

  const legacy = (body, headers = { 'X-API-Key': KEY }) => post('/api', body, headers);
  const legacyLines = (r) => {
    assert.equal(r.status, 200, r.text);
    return r.text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => JSON.parse(l));
  };

  test('#30 legacy /api: two commands -> two reply lines, id echoed', async () => {
    const body =
      JSON.stringify({ id: 7, method: 'publish', params: { channel: 'chat:1', data: 1 } }) +
      '\n' +
      JSON.stringify({ method: 'PUBLISH', params: { channel: 'x:y', data: 1 } });
    const r = await legacy(body);
    assert.deepStrictEqual(legacyLines(r), [{ id: 7, result: {} }, { error: ERR.unknownChannel }]);
  });

  test('#31 legacy /api: unknown name -> 400; unknown number -> 104; no params -> 107', async () => {
    expectBadRequestText(await legacy(JSON.stringify({ method: 'foo', params: {} })));
    assert.deepStrictEqual(legacyLines(await legacy(JSON.stringify({ method: 999, params: {} }))), [
      { error: ERR.notFound },
    ]);
    assert.deepStrictEqual(legacyLines(await legacy(JSON.stringify({ method: 'history' }))), [
      { error: ERR.badRequest },
    ]);
  });

  test('#32 unknown /api/ path -> 404 "404 page not found", key never checked', async () => {
    for (const headers of [{ 'X-API-Key': KEY }, {}, { 'X-API-Key': 'wrong' }]) {
      const r = await post('/api/unknown_method', '{}', headers);
      assert.equal(r.status, 404, `headers ${JSON.stringify(headers)}: ${r.text}`);
      assert.match(r.headers.get('content-type') || '', /^text\/plain/);
      assert.equal(r.text.trim(), '404 page not found');
    }
  });

  test('#33 GET /health (no key) -> 200 {}', async () => {
    const res = await raw('/health');
    assert.equal(res.status, 200);
    assert.deepStrictEqual(JSON.parse(await res.text()), {});
  });
});

// ---------------------------------------------------------------------------

describe('server API: method success shapes and JSON conventions', () => {
  let g;
  const epoch = makeEpochTracker();
  const call = (method, body, opts = {}) => g.api(method, body, { key: KEY, ...opts });

  before(async () => {
    g = await startGyre(SPEC_CONFIG);
  });
  after(async () => {
    await g?.stop();
  });

  test('publish with tags -> history returns the tags', async () => {
    expectPosition(
      await call('publish', { channel: 'tagged', data: { t: 1 }, tags: { a: 'b', c: 'd' } }),
      'tagged',
      1,
      epoch,
    );
    const r = await call('history', { channel: 'tagged', limit: -1 });
    expectJson(r, {
      result: {
        publications: [{ data: { t: 1 }, offset: 1, tags: { a: 'b', c: 'd' } }],
        epoch: r.json?.result?.epoch,
        offset: 1,
      },
    });
    epoch('tagged', r.json.result.epoch);
  });

  test('publish with skip_history -> {} and nothing stored', async () => {
    expectPosition(await call('publish', { channel: 'skip', data: { s: 1 } }), 'skip', 1, epoch);
    expectJson(await call('publish', { channel: 'skip', data: { s: 2 }, skip_history: true }), {
      result: {},
    });
    const r = await call('history', { channel: 'skip', limit: -1 });
    expectJson(r, {
      result: { publications: [{ data: { s: 1 }, offset: 1 }], epoch: r.json?.result?.epoch, offset: 1 },
    });
  });

  test('publish data is re-emitted byte-for-byte (raw JSON pass-through)', async () => {
    const body = '{"channel":"rawdata","data":{"b":2,"a":[1, 2.50,"x"]}}';
    expectPosition(await call('publish', body), 'rawdata', 1, epoch);
    const r = await call('history', { channel: 'rawdata', limit: -1 });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.text.includes('{"b":2,"a":[1, 2.50,"x"]}'), `data was re-serialised: ${r.text}`);
  });

  test('publish with b64data (and data) -> position', async () => {
    expectPosition(await call('publish', { channel: 'b64', data: { x: 1 }, b64data: 'aGk=' }), 'b64', 1, epoch);
  });

  test('"data": null counts as present', async () => {
    expectJson(await call('publish', { channel: 'chat:null', data: null }), { result: {} });
  });

  test('key matching is case-insensitive: {"Channel","Data"} publishes', async () => {
    expectPosition(await call('publish', '{"Channel":"ci","Data":{"z":1}}'), 'ci', 1, epoch);
    expectJson(await call('publish', { Channel: 'chat:1', Data: {} }), { result: {} });
    const r = await call('history', { CHANNEL: 'ci', LIMIT: -1 });
    expectJson(r, {
      result: { publications: [{ data: { z: 1 }, offset: 1 }], epoch: r.json?.result?.epoch, offset: 1 },
    });
  });

  test('unknown keys are ignored', async () => {
    expectJson(await call('publish', { channel: 'chat:1', data: {}, bogus: [1, 2] }), { result: {} });
  });

  test('broadcast success to several history channels', async () => {
    const r = await call('broadcast', { channels: ['bc1', 'bc2', 'chat:9'], data: { x: 1 } });
    const resp = r.json?.result?.responses;
    expectJson(r, {
      result: {
        responses: [
          { result: { offset: 1, epoch: resp?.[0]?.result?.epoch } },
          { result: { offset: 1, epoch: resp?.[1]?.result?.epoch } },
          { result: {} },
        ],
      },
    });
    epoch('bc1', resp[0].result.epoch);
    epoch('bc2', resp[1].result.epoch);
    const h = await call('history', { channel: 'bc2', limit: -1 });
    expectJson(h, {
      result: { publications: [{ data: { x: 1 }, offset: 1 }], epoch: resp[1].result.epoch, offset: 1 },
    });
  });

  test('broadcast bad b64data -> top-level 107', async () => {
    expectError(await call('broadcast', { channels: ['bc1'], b64data: '%%' }), ERR.badRequest);
  });

  test('history: limit, reverse, since with the correct epoch', async () => {
    let e;
    for (let i = 1; i <= 5; i++) {
      e = expectPosition(await call('publish', { channel: 'hist', data: { i } }), 'hist', i, epoch).epoch;
    }
    const pubs = (...is) => is.map((i) => ({ data: { i }, offset: i }));
    const res = (publications) => ({ result: { publications, epoch: e, offset: 5 } });

    expectJson(await call('history', { channel: 'hist', limit: -1 }), res(pubs(1, 2, 3, 4, 5)));
    expectJson(await call('history', { channel: 'hist', limit: 2 }), res(pubs(1, 2)));
    expectJson(await call('history', { channel: 'hist', limit: 2, reverse: true }), res(pubs(5, 4)));
    expectJson(await call('history', { channel: 'hist', limit: 0 }), res([]));
    expectJson(
      await call('history', { channel: 'hist', limit: 10, since: { offset: 2, epoch: e } }),
      res(pubs(3, 4, 5)),
    );
    expectJson(
      await call('history', { channel: 'hist', limit: 1, since: { offset: 2, epoch: e } }),
      res(pubs(3)),
    );
    expectJson(
      await call('history', { channel: 'hist', limit: 10, reverse: true, since: { offset: 4, epoch: e } }),
      res(pubs(3, 2, 1)),
    );
    expectJson(
      await call('history', { channel: 'hist', limit: -1, since: { offset: 5, epoch: e } }),
      res([]),
    );
    // since without epoch is accepted (epoch check only when non-empty)
    expectJson(await call('history', { channel: 'hist', limit: -1, since: { offset: 3 } }), res(pubs(4, 5)));
  });

  test('history of a never-used channel -> offset 0, fresh epoch', async () => {
    const r = await call('history', { channel: 'fresh', limit: -1 });
    expectJson(r, { result: { publications: [], epoch: r.json?.result?.epoch, offset: 0 } });
    epoch('fresh', r.json.result.epoch);
  });

  test('history / history_remove errors: empty -> 107, unknown ns -> 102, off -> 108', async () => {
    expectError(await call('history', {}), ERR.badRequest);
    expectError(await call('history', { channel: 'nope:1' }), ERR.unknownChannel);
    expectError(await call('history_remove', {}), ERR.badRequest);
    expectError(await call('history_remove', { channel: 'nope:1' }), ERR.unknownChannel);
    expectError(await call('history_remove', { channel: 'chat:1' }), ERR.notAvailable);
  });

  test('presence_stats errors: empty -> 107, unknown ns -> 102, off -> 108', async () => {
    expectError(await call('presence_stats', {}), ERR.badRequest);
    expectError(await call('presence_stats', { channel: 'nope:1' }), ERR.unknownChannel);
    expectError(await call('presence_stats', { channel: 'chat:1' }), ERR.notAvailable);
    expectError(await call('presence', { channel: 'nope:1' }), ERR.unknownChannel);
  });

  test('publish: empty channel -> 107', async () => {
    expectError(await call('publish', { channel: '', data: {} }), ERR.badRequest);
    expectError(await call('publish', { data: {} }), ERR.badRequest);
  });

  test('subscribe of an absent user -> {}', async () => {
    expectJson(await call('subscribe', { user: '42', channel: 'chat:1' }), { result: {} });
    expectJson(await call('subscribe', { user: '', channel: 'news' }), { result: {} });
  });

  test('subscribe with bad b64info / b64data -> 107', async () => {
    expectError(await call('subscribe', { user: '42', channel: 'chat:1', b64info: '%%' }), ERR.badRequest);
    expectError(await call('subscribe', { user: '42', channel: 'chat:1', b64data: '%%' }), ERR.badRequest);
  });

  test('disconnect with custom code / whitelist, refresh with expire_at and info -> {}', async () => {
    expectJson(
      await call('disconnect', { user: '7', whitelist: ['abc'], disconnect: { code: 4500, reason: 'x' } }),
      { result: {} },
    );
    expectJson(await call('refresh', { user: '7', expire_at: 2000000000, info: { a: 1 } }), { result: {} });
    expectJson(await call('refresh', { user: '7' }), { result: {} });
    expectJson(await call('unsubscribe', { user: '7', channel: '' }), { result: {} });
  });

  test('info success shape', async () => {
    const r = await call('info', {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const [n, ...rest] = r.json.result.nodes;
    assert.equal(rest.length, 0);
    for (const k of ['uid', 'name', 'version']) assert.equal(typeof n[k], 'string', k);
    for (const k of ['num_clients', 'num_users', 'num_channels', 'num_subs']) {
      assert.equal(n[k], 0, `${k}: ${r.text}`);
    }
    if ('uptime' in n) assert.ok(Number.isInteger(n.uptime) && n.uptime > 0, `uptime ${n.uptime}`);
  });

  test('batch: sequential and parallel replies are keyed by method, in order', async () => {
    for (const parallel of [false, true]) {
      const ch = parallel ? 'batchp' : 'batchs';
      const r = await call('batch', {
        parallel,
        commands: [
          { publish: { channel: ch, data: { a: 1 } } },
          { broadcast: { channels: ['chat:1'], data: {} } },
          { presence_stats: { channel: ch } },
          { history: { channel: 'chat:1' } },
          { info: {} },
          { rpc: { method: 'x' } },
          { presence: { channel: 'chat:1' } },
          { channels: {} },
          { subscribe: { user: '1', channel: 'chat:1' } },
          { unsubscribe: { user: '1', channel: 'chat:1' } },
          { disconnect: { user: '1' } },
          { refresh: { user: '1' } },
          { history_remove: { channel: ch } },
        ],
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-type'), 'application/json');
      const replies = r.json.replies;
      assert.equal(replies.length, 13, r.text);
      assert.deepStrictEqual(Object.keys(replies[0]), ['publish'], r.text);
      if (!parallel) {
        assert.equal(replies[0].publish.offset, 1, r.text);
        epoch(ch, replies[0].publish.epoch);
      }
      assert.deepStrictEqual(replies[1], { broadcast: { responses: [{ result: {} }] } });
      assert.deepStrictEqual(Object.keys(replies[2]), ['presence_stats'], r.text);
      assert.deepStrictEqual(replies[3], { error: ERR.notAvailable });
      assert.deepStrictEqual(Object.keys(replies[4]), ['info'], r.text);
      assert.equal(replies[4].info.nodes.length, 1, r.text);
      assert.deepStrictEqual(replies[5], { error: ERR.notFound });
      assert.deepStrictEqual(replies[6], { error: ERR.notAvailable });
      assert.deepStrictEqual(replies[7], { channels: { channels: {} } });
      assert.deepStrictEqual(replies[8], { subscribe: {} });
      assert.deepStrictEqual(replies[9], { unsubscribe: {} });
      assert.deepStrictEqual(replies[10], { disconnect: {} });
      assert.deepStrictEqual(replies[11], { refresh: {} });
      assert.deepStrictEqual(replies[12], { history_remove: {} });
    }
  });

  test('batch sequential order is observable: publish then history', async () => {
    const r = await call('batch', {
      commands: [
        { publish: { channel: 'bseq', data: { q: 1 } } },
        { history: { channel: 'bseq', limit: -1 } },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const [p, h] = r.json.replies;
    assert.equal(p.publish.offset, 1, r.text);
    assert.deepStrictEqual(h, {
      history: { publications: [{ data: { q: 1 }, offset: 1 }], epoch: p.publish.epoch, offset: 1 },
    });
  });
});

// ---------------------------------------------------------------------------

describe('server API: transport error mode and bad bodies', () => {
  let g;
  const call = (method, body, opts = {}) => g.api(method, body, { key: KEY, ...opts });

  before(async () => {
    g = await startGyre(SPEC_CONFIG);
  });
  after(async () => {
    await g?.stop();
  });

  test('transport mode maps 102 -> 404, 107 -> 400, 108 -> 400, 112 -> 416', async () => {
    const h = { headers: TRANSPORT };
    expectTransportError(await call('publish', { channel: 'nope:1', data: {} }, h), 404, ERR.unknownChannel);
    expectTransportError(await call('presence', { channel: 'nope:1' }, h), 404, ERR.unknownChannel);
    expectTransportError(await call('publish', { channel: 'chat:1' }, h), 400, ERR.badRequest);
    expectTransportError(await call('broadcast', { channels: [], data: {} }, h), 400, ERR.badRequest);
    expectTransportError(await call('rpc', {}, h), 400, ERR.badRequest);
    expectTransportError(await call('presence', { channel: 'chat:1' }, h), 400, ERR.notAvailable);
    expectTransportError(await call('history', { channel: 'chat:1' }, h), 400, ERR.notAvailable);
    expectTransportError(
      await call('history', { channel: 'news', limit: 1, since: { offset: 0, epoch: 'nope' } }, h),
      416,
      ERR.unrecoverable,
    );
  });

  test('transport mode maps 104 -> 404 and 100 -> 500', async () => {
    const h = { headers: TRANSPORT };
    expectTransportError(await call('rpc', { method: 'x' }, h), 404, ERR.notFound);
    expectTransportError(await call('channels', { pattern: '[' }, h), 500, ERR.internal);
  });

  test('transport mode does not change successes', async () => {
    const h = { headers: TRANSPORT };
    expectJson(await call('publish', { channel: 'chat:1', data: {} }, h), { result: {} });
    expectJson(await call('presence', { channel: 'news' }, h), { result: { presence: {} } });
  });

  test('transport mode: broadcast per-channel errors stay in a 200 result', async () => {
    const r = await call('broadcast', { channels: ['chat:1', 'nope:1'], data: {} }, { headers: TRANSPORT });
    expectJson(r, { result: { responses: [{ result: {} }, { error: ERR.unknownChannel }] } });
  });

  test('transport mode is ignored by batch', async () => {
    const r = await call(
      'batch',
      { commands: [{ publish: { channel: 'nope:1', data: {} } }, { history: { channel: 'chat:1' } }] },
      { headers: TRANSPORT },
    );
    expectJson(r, { replies: [{ error: ERR.unknownChannel }, { error: ERR.notAvailable }] });
  });

  test('header value is compared exactly: "Transport" / "TRANSPORT" keep in-band errors', async () => {
    for (const v of ['Transport', 'TRANSPORT', 'transport,json', '1']) {
      const r = await call(
        'publish',
        { channel: 'nope:1', data: {} },
        { headers: { 'X-Centrifugo-Error-Mode': v } },
      );
      expectError(r, ERR.unknownChannel);
    }
  });

  test('invalid JSON bodies -> 400 text "Bad Request"', async () => {
    for (const body of ['{"channel":', 'not json', '[1,2]', '"str"', '{"channel":"news","data":{}']) {
      const r = await call('publish', body);
      expectBadRequestText(r);
    }
  });

  test('a string where an integer is expected -> 400', async () => {
    expectBadRequestText(await call('history', { channel: 'news', limit: 'x' }));
    expectBadRequestText(await call('publish', { channel: 'news', data: {}, version: 'x' }));
    expectBadRequestText(await call('publish', { channel: 'news', data: {}, skip_history: 'yes' }));
    expectBadRequestText(await call('broadcast', { channels: 'news', data: {} }));
  });

  test('in batch, a badly typed command -> in-band 107, others still run', async () => {
    const r = await call('batch', {
      commands: [
        { history: { channel: 'news', limit: 'x' } },
        { publish: { channel: 'chat:1', data: {} } },
      ],
    });
    expectJson(r, { replies: [{ error: ERR.badRequest }, { publish: {} }] });
  });

  test('batch body that is not JSON -> 400', async () => {
    expectBadRequestText(await call('batch', '{"commands":['));
  });

  test('non-POST methods -> 405 empty, even with a key', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(`${g.url}/api/info`, { method, headers: { 'X-API-Key': KEY } });
      expectEmpty({ status: res.status, text: await res.text() }, 405);
    }
  });

  test('PRO-only method has no route -> 404', async () => {
    const r = await call('connections', {});
    assert.equal(r.status, 404, r.text);
  });

  test('legacy /api: id echo, numeric method, missing method = publish, in-band 107 for bad params', async () => {
    const body = [
      { id: 1, method: 9, params: {} },
      { id: 2, params: { channel: 'chat:1', data: {} } },
      { id: 3, method: 'history', params: { channel: 'news', limit: 'x' } },
      { id: 4, method: 'Presence_Stats', params: { channel: 'chat:1' } },
      { method: 'publish', params: { channel: 'chat:1', data: {} } },
    ]
      .map((c) => JSON.stringify(c))
      .join('\n');
    const res = await fetch(`${g.url}/api`, { method: 'POST', headers: { 'X-API-Key': KEY }, body });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const lines = text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 5, text);
    assert.equal(lines[0].id, 1);
    assert.equal(lines[0].result.nodes.length, 1, text);
    assert.deepStrictEqual(lines[1], { id: 2, result: {} });
    assert.deepStrictEqual(lines[2], { id: 3, error: ERR.badRequest });
    assert.deepStrictEqual(lines[3], { id: 4, error: ERR.notAvailable });
    assert.deepStrictEqual(lines[4], { result: {} });
  });

  test('legacy /api: empty body -> 400; without key -> 401', async () => {
    let res = await fetch(`${g.url}/api`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: '' });
    assert.equal(res.status, 400, await res.text());
    res = await fetch(`${g.url}/api`, { method: 'POST', body: '{"method":"info"}' });
    expectEmpty({ status: res.status, text: await res.text() }, 401);
  });
});

// ---------------------------------------------------------------------------

describe('server API: effects on connected SDK clients', () => {
  const SECRET = 'api-test-secret';
  let g;
  const epoch = makeEpochTracker();
  const call = (method, body, opts = {}) => g.api(method, body, { key: KEY, ...opts });
  const clients = [];
  // Whether the server accepts an HS256 connection JWT (user "42"); probed in
  // before(). Tests that need a non-anonymous user skip, with a reason, when not.
  let jwtError = null;

  async function connect(opts = {}) {
    const c = newCentrifuge(g.wsUrl, opts);
    clients.push(c);
    const connected = waitFor(c, 'connected');
    const disconnected = waitFor(c, 'disconnected').then(
      (ctx) => {
        throw new Error(`client disconnected while connecting: ${ctx.code} ${ctx.reason}`);
      },
      () => new Promise(() => {}),
    );
    c.connect();
    const ctx = await Promise.race([connected, disconnected]);
    return { c, id: ctx.client };
  }
  const connectUser42 = () => connect({ token: hs256({ sub: '42' }, SECRET) });
  function needJwt(t) {
    if (jwtError) {
      t.skip(`server does not accept an HS256 connection JWT (client.token.hmac_secret_key): ${jwtError}`);
      return true;
    }
    return false;
  }
  function closeClient(c) {
    c.removeAllListeners?.();
    c.disconnect();
  }
  async function subscribe(c, channel) {
    const sub = c.newSubscription(channel);
    const subscribed = waitFor(sub, 'subscribed');
    sub.subscribe();
    await subscribed;
    return sub;
  }
  // Waits until the server's view (info) reaches the expected client count.
  const waitClients = (n) =>
    waitUntil(
      async () => (await call('info', {})).json?.result?.nodes?.[0]?.num_clients === n,
      5000,
      `num_clients == ${n}`,
    );

  before(async () => {
    g = await startGyre(
      structuredClone({
        ...SPEC_CONFIG,
        client: {
          allow_anonymous_connect_without_token: true,
          token: { hmac_secret_key: SECRET },
        },
        channel: {
          ...SPEC_CONFIG.channel,
          without_namespace: {
            ...SPEC_CONFIG.channel.without_namespace,
            allow_subscribe_for_client: true,
            allow_subscribe_for_anonymous: true,
          },
        },
      }),
    );
    try {
      const { c } = await connectUser42();
      closeClient(c);
    } catch (e) {
      jwtError = e.message;
    }
    await waitClients(0);
  });
  after(async () => {
    for (const c of clients) {
      try {
        c.disconnect();
      } catch {
        // gone
      }
    }
    await g?.stop();
  });

  // #35 of §9: presence, presence_stats, info and channels with one subscriber.
  async function case35(c, id, user) {
    await subscribe(c, 'news');
    expectJson(await call('presence', { channel: 'news' }), {
      result: { presence: { [id]: { user, client: id } } },
    });
    expectJson(await call('presence_stats', { channel: 'news' }), {
      result: { num_clients: 1, num_users: 1 },
    });
    const info = await call('info', {});
    assert.equal(info.status, 200, info.text);
    const n = info.json.result.nodes[0];
    assert.deepStrictEqual(
      {
        num_clients: n.num_clients,
        num_users: n.num_users,
        num_subs: n.num_subs,
        num_channels: n.num_channels,
      },
      { num_clients: 1, num_users: 1, num_subs: 1, num_channels: 1 },
      info.text,
    );
    expectJson(await call('channels', {}), { result: { channels: { news: { num_clients: 1 } } } });
    expectJson(await call('channels', { pattern: 'ne*' }), {
      result: { channels: { news: { num_clients: 1 } } },
    });
    expectJson(await call('channels', { pattern: 'x*' }), { result: { channels: {} } });
    closeClient(c);
    await waitClients(0);
    expectJson(await call('presence', { channel: 'news' }), { result: { presence: {} } });
    expectJson(await call('presence_stats', { channel: 'news' }), {
      result: { num_clients: 0, num_users: 0 },
    });
    expectJson(await call('channels', {}), { result: { channels: {} } });
  }

  test('#35 (anonymous subscriber) presence / presence_stats / info / channels', async () => {
    const { c, id } = await connect();
    try {
      await case35(c, id, '');
    } finally {
      closeClient(c);
    }
  });

  test('#35 (subscriber of user 42, JWT) presence / presence_stats / info / channels', async (t) => {
    if (needJwt(t)) return;
    const { c, id } = await connectUser42();
    try {
      await case35(c, id, '42');
    } finally {
      closeClient(c);
    }
  });

  test('published tags reach subscribers; idempotent duplicate is not re-broadcast', async () => {
    const { c } = await connect();
    try {
      const sub = await subscribe(c, 'live');
      const pubs = collect(sub, 'publication');
      const body = { channel: 'live', data: { m: 1 }, tags: { k: 'v' }, idempotency_key: 'dup' };
      const first = expectPosition(await call('publish', body), 'live', 1, epoch);
      expectJson(await call('publish', body), { result: first });
      expectPosition(await call('publish', { channel: 'live', data: { m: 2 } }), 'live', 2, epoch);
      await pubs.waitForCount(2);
      await sleep(200);
      assert.equal(pubs.length, 2, `publications: ${JSON.stringify(pubs.map((p) => p.data))}`);
      assert.deepStrictEqual(pubs[0].data, { m: 1 });
      assert.deepStrictEqual(pubs[0].tags, { k: 'v' });
      assert.equal(pubs[0].offset, 1);
      assert.deepStrictEqual(pubs[1].data, { m: 2 });
      assert.equal(pubs[1].offset, 2);
    } finally {
      closeClient(c);
    }
  });

  test('broadcast reaches subscribers of every listed channel', async () => {
    const { c } = await connect();
    try {
      const s1 = await subscribe(c, 'bca');
      const s2 = await subscribe(c, 'bcb');
      const p1 = waitFor(s1, 'publication');
      const p2 = waitFor(s2, 'publication');
      const r = await call('broadcast', { channels: ['bca', 'bcb'], data: { all: true } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.result.responses.length, 2, r.text);
      assert.deepStrictEqual((await p1).data, { all: true });
      assert.deepStrictEqual((await p2).data, { all: true });
    } finally {
      closeClient(c);
    }
  });

  test('API subscribe of anonymous user -> server-side subscription with data; publish reaches it', async () => {
    const { c } = await connect();
    try {
      const subscribed = waitFor(c, 'subscribed');
      expectJson(await call('subscribe', { user: '', channel: 'chat:srv', data: { hello: 1 } }), {
        result: {},
      });
      const ctx = await subscribed;
      assert.equal(ctx.channel, 'chat:srv');
      assert.deepStrictEqual(ctx.data, { hello: 1 });
      const pub = waitFor(c, 'publication');
      expectJson(await call('publish', { channel: 'chat:srv', data: { p: 1 } }), { result: {} });
      const p = await pub;
      assert.equal(p.channel, 'chat:srv');
      assert.deepStrictEqual(p.data, { p: 1 });

      // API unsubscribe of a server-side subscription
      const unsub = waitFor(c, 'unsubscribed');
      expectJson(await call('unsubscribe', { user: '', channel: 'chat:srv' }), { result: {} });
      assert.equal((await unsub).channel, 'chat:srv');
    } finally {
      closeClient(c);
    }
  });

  test('API subscribe to a history channel: subscriber counted in presence', async () => {
    const { c, id } = await connect();
    try {
      const subscribed = waitFor(c, 'subscribed');
      expectJson(await call('subscribe', { user: '', channel: 'srvnews' }), { result: {} });
      assert.equal((await subscribed).channel, 'srvnews');
      expectJson(await call('presence', { channel: 'srvnews' }), {
        result: { presence: { [id]: { user: '', client: id } } },
      });
    } finally {
      closeClient(c);
    }
  });

  test('API subscribe with client filter reaches only that connection', async () => {
    const a = await connect();
    const b = await connect();
    try {
      let bGot = null;
      b.c.on('subscribed', (ctx) => {
        bGot = ctx;
      });
      const aSub = waitFor(a.c, 'subscribed');
      expectJson(await call('subscribe', { user: '', channel: 'chat:only', client: a.id }), { result: {} });
      assert.equal((await aSub).channel, 'chat:only');
      await sleep(200);
      assert.equal(bGot, null, `client b got a subscription: ${JSON.stringify(bGot)}`);
    } finally {
      closeClient(a.c);
      closeClient(b.c);
    }
  });

  test('API subscribe of user 42 does not reach anonymous connections', async () => {
    const a = await connect();
    try {
      let got = null;
      a.c.on('subscribed', (ctx) => {
        got = ctx;
      });
      expectJson(await call('subscribe', { user: '42', channel: 'chat:u42' }), { result: {} });
      await sleep(200);
      assert.equal(got, null, `anonymous client got user 42's subscription: ${JSON.stringify(got)}`);
    } finally {
      closeClient(a.c);
    }
  });

  test('API subscribe targets by user: user 42 only, not anonymous (JWT)', async (t) => {
    if (needJwt(t)) return;
    const u = await connectUser42();
    const anon = await connect();
    try {
      let anonGot = null;
      anon.c.on('subscribed', (ctx) => {
        anonGot = ctx;
      });
      const uSub = waitFor(u.c, 'subscribed');
      expectJson(await call('subscribe', { user: '42', channel: 'chat:u42b' }), { result: {} });
      assert.equal((await uSub).channel, 'chat:u42b');
      await sleep(200);
      assert.equal(anonGot, null, `anonymous client got a subscription: ${JSON.stringify(anonGot)}`);
    } finally {
      closeClient(u.c);
      closeClient(anon.c);
    }
  });

  test('API unsubscribe -> client-side subscription unsubscribed with code 2000', async () => {
    const { c } = await connect();
    try {
      const sub = await subscribe(c, 'unsubme');
      const unsub = waitFor(sub, 'unsubscribed');
      expectJson(await call('unsubscribe', { user: '', channel: 'unsubme' }), { result: {} });
      const ctx = await unsub;
      assert.equal(ctx.code, 2000);
      assert.equal(ctx.reason, 'server unsubscribe');
      await waitUntil(
        async () => (await call('presence_stats', { channel: 'unsubme' })).json?.result?.num_clients === 0,
        3000,
        'presence to drop after unsubscribe',
      );
    } finally {
      closeClient(c);
    }
  });

  test('API disconnect: whitelisted client survives; default is 3503 "force disconnect"', async () => {
    await waitClients(0);
    const { c, id } = await connect();
    try {
      let disconnected = null;
      c.on('disconnected', (ctx) => {
        disconnected = ctx;
      });
      expectJson(await call('disconnect', { user: '', whitelist: [id] }), { result: {} });
      await sleep(300);
      assert.equal(disconnected, null, `whitelisted client was disconnected: ${JSON.stringify(disconnected)}`);
      assert.equal(c.state, 'connected');

      const gone = waitFor(c, 'disconnected');
      expectJson(await call('disconnect', { user: '' }), { result: {} });
      const ctx = await gone;
      assert.equal(ctx.code, 3503);
      assert.equal(ctx.reason, 'force disconnect');
      await waitClients(0);
    } finally {
      closeClient(c);
    }
  });

  test('API disconnect with custom code/reason and client filter', async () => {
    const a = await connect();
    const b = await connect();
    try {
      let bGone = null;
      b.c.on('disconnected', (ctx) => {
        bGone = ctx;
      });
      const aGone = waitFor(a.c, 'disconnected');
      expectJson(
        await call('disconnect', { user: '', client: a.id, disconnect: { code: 4501, reason: 'bye' } }),
        { result: {} },
      );
      const ctx = await aGone;
      assert.equal(ctx.code, 4501);
      assert.equal(ctx.reason, 'bye');
      await sleep(200);
      assert.equal(bGone, null, `client b was disconnected: ${JSON.stringify(bGone)}`);
    } finally {
      closeClient(a.c);
      closeClient(b.c);
    }
  });

  test('API refresh expired:true -> connection closed with 3005 "connection expired"', async () => {
    const { c } = await connect();
    try {
      // 3005 is a reconnect code: the SDK goes back to connecting.
      const connecting = waitFor(c, 'connecting');
      expectJson(await call('refresh', { user: '', expired: true }), { result: {} });
      const ctx = await connecting;
      assert.equal(ctx.code, 3005);
      assert.equal(ctx.reason, 'connection expired');
    } finally {
      closeClient(c);
    }
  });

  test('API refresh of another user does not touch the connection', async () => {
    const { c } = await connect();
    try {
      let changed = null;
      c.on('connecting', (ctx) => {
        changed = ctx;
      });
      c.on('disconnected', (ctx) => {
        changed = ctx;
      });
      expectJson(await call('refresh', { user: '43', expired: true }), { result: {} });
      expectJson(await call('disconnect', { user: '43' }), { result: {} });
      await sleep(300);
      assert.equal(changed, null, JSON.stringify(changed));
    } finally {
      closeClient(c);
    }
  });
});

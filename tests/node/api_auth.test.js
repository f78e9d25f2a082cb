// HTTP server API authentication (spec server-api.md §1.2, §9 cases 1–4 and
// 34), `http_api.insecure`, the `http_api.error_mode: "transport"` option and
// endpoint layout options (§1.1).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';

const KEY = 'k';

const SPEC_CONFIG = {
  http_api: { key: KEY },
  health: { enabled: true },
  channel: {
    without_namespace: { presence: true, history_size: 10, history_ttl: '300s' },
    namespaces: [{ name: 'chat' }, { name: 'obj', publication_data_format: 'json_object' }],
  },
};

const METHODS = [
  'batch',
  'publish',
  'broadcast',
  'subscribe',
  'unsubscribe',
  'disconnect',
  'presence',
  'presence_stats',
  'history',
  'history_remove',
  'info',
  'rpc',
  'refresh',
  'channels',
];

// POST url+path with raw headers (no defaults other than what fetch adds).
async function post(url, path, { headers = {}, body = '{}', method = 'POST' } = {}) {
  const res = await fetch(`${url}${path}`, { method, headers, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function expectOk(r) {
  assert.equal(r.status, 200, `status; body: ${r.text}`);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.ok(r.json && 'result' in r.json, r.text);
}

function expect401(r) {
  assert.equal(r.status, 401, `status; body: ${r.text}`);
  assert.equal(r.text, '', 'body must be empty');
}

function expectInfo(r) {
  expectOk(r);
  assert.equal(r.json.result.nodes.length, 1, r.text);
  assert.ok(r.json.result.nodes[0].version.endsWith(' OSS'), r.text);
}

// ---------------------------------------------------------------------------

describe('server API auth: http_api.key = "k"', () => {
  let g;
  const info = (opts) => post(g.url, '/api/info', opts);

  before(async () => {
    g = await startGyre(SPEC_CONFIG);
  });
  after(async () => {
    await g?.stop();
  });

  test('X-API-Key: correct -> 200', async () => {
    expectInfo(await info({ headers: { 'X-API-Key': KEY } }));
    expectInfo(await info({ headers: { 'x-api-key': KEY } }));
  });

  test('X-API-Key: incorrect -> 401 empty', async () => {
    for (const k of ['wrong', 'K', 'kk', 'test-key', 'kx']) {
      expect401(await info({ headers: { 'X-API-Key': k } }));
    }
  });

  test('no credentials -> 401 empty (§9 #1)', async () => {
    expect401(await post(g.url, '/api/publish', { body: '{"channel":"chat:1","data":{}}' }));
    expect401(await info());
  });

  test('Authorization: apikey k -> 200, scheme case-insensitive (§9 #3)', async () => {
    for (const v of [`apikey ${KEY}`, `ApiKey ${KEY}`, `APIKEY ${KEY}`, `apikey   ${KEY}`]) {
      expectInfo(await info({ headers: { Authorization: v } }));
    }
  });

  test('Authorization: wrong key, wrong scheme or wrong field count -> 401', async () => {
    for (const v of ['apikey wrong', `Bearer ${KEY}`, `Basic ${KEY}`, KEY, 'apikey', `apikey ${KEY} extra`, `apikey K`]) {
      expect401(await info({ headers: { Authorization: v } }));
    }
  });

  test('wrong X-API-Key + correct Authorization -> 401 (Authorization not looked at)', async () => {
    expect401(await info({ headers: { 'X-API-Key': 'wrong', Authorization: `apikey ${KEY}` } }));
  });

  test('correct X-API-Key + wrong Authorization -> 200', async () => {
    expectInfo(await info({ headers: { 'X-API-Key': KEY, Authorization: 'apikey wrong' } }));
  });

  test('?api_key=k, no headers -> 200 (§9 #4)', async () => {
    expectInfo(await post(g.url, `/api/info?api_key=${KEY}`));
    expectInfo(await post(g.url, `/api/info?foo=1&api_key=${KEY}`));
  });

  test('?api_key wrong or empty -> 401', async () => {
    expect401(await post(g.url, '/api/info?api_key=wrong'));
    expect401(await post(g.url, '/api/info?api_key='));
    expect401(await post(g.url, '/api/info?other=k'));
  });

  test('wrong X-API-Key + correct ?api_key -> 200 (query checked when headers failed)', async () => {
    expectInfo(await post(g.url, `/api/info?api_key=${KEY}`, { headers: { 'X-API-Key': 'wrong' } }));
  });

  test('wrong Authorization + correct ?api_key -> 200 (query checked when headers failed)', async () => {
    expectInfo(await post(g.url, `/api/info?api_key=${KEY}`, { headers: { Authorization: 'apikey wrong' } }));
  });

  test('empty X-API-Key header counts as absent: Authorization is used', async () => {
    expectInfo(await info({ headers: { 'X-API-Key': '', Authorization: `apikey ${KEY}` } }));
  });

  test('every method endpoint requires the key', async () => {
    for (const m of METHODS) {
      const r = await post(g.url, `/api/${m}`);
      assert.equal(r.status, 401, `/api/${m}: ${r.status} ${r.text}`);
      assert.equal(r.text, '', `/api/${m} body`);
    }
  });

  test('every method endpoint accepts the key (status 200)', async () => {
    for (const m of METHODS) {
      const r = await post(g.url, `/api/${m}`, { headers: { 'X-API-Key': KEY } });
      assert.equal(r.status, 200, `/api/${m}: ${r.status} ${r.text}`);
      assert.equal(r.headers.get('content-type'), 'application/json', `/api/${m}`);
      assert.notEqual(r.json, undefined, `/api/${m}: ${r.text}`);
    }
  });

  test('legacy /api requires the key, accepts all three credential forms', async () => {
    const body = '{"method":"info","params":{}}';
    expect401(await post(g.url, '/api', { body }));
    expect401(await post(g.url, '/api', { body, headers: { 'X-API-Key': 'wrong' } }));
    for (const opts of [
      { path: '/api', headers: { 'X-API-Key': KEY } },
      { path: '/api', headers: { Authorization: `ApiKey ${KEY}` } },
      { path: `/api?api_key=${KEY}`, headers: {} },
    ]) {
      const r = await post(g.url, opts.path, { body, headers: opts.headers });
      assert.equal(r.status, 200, `${JSON.stringify(opts)}: ${r.text}`);
      assert.equal(JSON.parse(r.text.trim()).result.nodes.length, 1, r.text);
    }
  });

  test('GET / PUT without key -> 405 empty (§9 #2: method before auth)', async () => {
    for (const method of ['GET', 'PUT']) {
      const r = await post(g.url, '/api/publish', { method });
      assert.equal(r.status, 405, `${method}: ${r.text}`);
      assert.equal(r.text, '');
    }
  });
});

// ---------------------------------------------------------------------------

describe('server API auth: no key configured (§9 #34)', () => {
  let g;

  before(async () => {
    g = await startGyre({ ...SPEC_CONFIG, http_api: { key: '' } });
  });
  after(async () => {
    await g?.stop();
  });

  test('every /api/* request -> 401, whatever credentials are sent', async () => {
    const credentials = [
      { path: '', headers: {} },
      { path: '', headers: { 'X-API-Key': '' } },
      { path: '', headers: { 'X-API-Key': KEY } },
      { path: '', headers: { 'X-API-Key': 'test-key' } },
      { path: '', headers: { Authorization: 'apikey ' } },
      { path: '', headers: { Authorization: `apikey ${KEY}` } },
      { path: '?api_key=', headers: {} },
      { path: `?api_key=${KEY}`, headers: {} },
    ];
    for (const m of [...METHODS, null]) {
      for (const cred of credentials) {
        const path = (m ? `/api/${m}` : '/api') + cred.path;
        const body = m ? '{}' : '{"method":"info","params":{}}';
        const r = await post(g.url, path, { headers: cred.headers, body });
        assert.equal(r.status, 401, `${path} ${JSON.stringify(cred.headers)}: ${r.status} ${r.text}`);
        assert.equal(r.text, '', `${path} body`);
      }
    }
  });

  test('/health still answers 200 {}', async () => {
    const res = await fetch(`${g.url}/health`);
    assert.equal(res.status, 200);
    assert.deepStrictEqual(JSON.parse(await res.text()), {});
  });
});

// ---------------------------------------------------------------------------

describe('server API auth: http_api.insecure', () => {
  for (const key of ['', KEY]) {
    describe(`insecure: true, key "${key}"`, () => {
      let g;
      before(async () => {
        g = await startGyre({ ...SPEC_CONFIG, http_api: { key, insecure: true } });
      });
      after(async () => {
        await g?.stop();
      });

      test('no key needed; wrong keys are not rejected', async () => {
        expectInfo(await post(g.url, '/api/info'));
        expectInfo(await post(g.url, '/api/info', { headers: { 'X-API-Key': 'wrong' } }));
        expectInfo(await post(g.url, '/api/info', { headers: { Authorization: 'Bearer nope' } }));
        const r = await post(g.url, '/api/publish', { body: '{"channel":"news","data":{"a":1}}' });
        expectOk(r);
        assert.equal(r.json.result.offset, 1, r.text);
      });

      test('legacy /api without key -> 200', async () => {
        const r = await post(g.url, '/api', { body: '{"id":5,"method":"info","params":{}}' });
        assert.equal(r.status, 200, r.text);
        const line = JSON.parse(r.text.trim());
        assert.equal(line.id, 5);
        assert.equal(line.result.nodes.length, 1, r.text);
      });

      test('GET still -> 405', async () => {
        const r = await post(g.url, '/api/info', { method: 'GET' });
        assert.equal(r.status, 405);
        assert.equal(r.text, '');
      });
    });
  }
});

// ---------------------------------------------------------------------------

describe('server API: http_api.error_mode = "transport"', () => {
  let g;
  const call = (method, body, opts = {}) => g.api(method, body, { key: KEY, ...opts });

  before(async () => {
    g = await startGyre({ ...SPEC_CONFIG, http_api: { key: KEY, error_mode: 'transport' } });
  });
  after(async () => {
    await g?.stop();
  });

  const expectTransportError = (r, status, err) => {
    assert.equal(r.status, status, `status; body: ${r.text}`);
    assert.deepStrictEqual(r.json, err, r.text);
  };

  test('errors map to HTTP statuses without the header', async () => {
    expectTransportError(await call('publish', { channel: 'nope:1', data: {} }), 404, {
      code: 102,
      message: 'unknown channel',
    });
    expectTransportError(await call('publish', { channel: 'chat:1' }), 400, { code: 107, message: 'bad request' });
    expectTransportError(await call('history', { channel: 'chat:1' }), 400, {
      code: 108,
      message: 'not available',
    });
    expectTransportError(
      await call('history', { channel: 'news', limit: 1, since: { offset: 0, epoch: 'WRONG' } }),
      416,
      { code: 112, message: 'unrecoverable position' },
    );
    expectTransportError(await call('rpc', { method: 'x' }), 404, { code: 104, message: 'not found' });
    expectTransportError(await call('channels', { pattern: '[' }), 500, {
      code: 100,
      message: 'internal server error',
    });
  });

  test('successes are unchanged', async () => {
    const r = await call('publish', { channel: 'chat:1', data: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepStrictEqual(r.json, { result: {} });
  });

  test('batch still answers 200 with in-band errors', async () => {
    const r = await call('batch', { commands: [{ publish: { channel: 'nope:1', data: {} } }] });
    assert.equal(r.status, 200, r.text);
    assert.deepStrictEqual(r.json, { replies: [{ error: { code: 102, message: 'unknown channel' } }] });
  });

  test('broadcast per-channel errors stay inside a 200 result', async () => {
    const r = await call('broadcast', { channels: ['chat:1', 'nope:1'], data: {} });
    assert.equal(r.status, 200, r.text);
    assert.deepStrictEqual(r.json, {
      result: { responses: [{ result: {} }, { error: { code: 102, message: 'unknown channel' } }] },
    });
  });

  test('auth failures are unchanged (401 empty)', async () => {
    const r = await call('info', {}, { key: 'wrong' });
    expect401(r);
  });
});

// ---------------------------------------------------------------------------

describe('server API endpoint layout options', () => {
  test('http_api.handler_prefix moves the endpoints', async (t) => {
    const g = await startGyre({ ...SPEC_CONFIG, http_api: { key: KEY, handler_prefix: '/myapi' } });
    t.after(() => g.stop());
    expectInfo(await post(g.url, '/myapi/info', { headers: { 'X-API-Key': KEY } }));
    const legacy = await post(g.url, '/myapi', {
      headers: { 'X-API-Key': KEY },
      body: '{"method":"info","params":{}}',
    });
    assert.equal(legacy.status, 200, legacy.text);
    const old = await post(g.url, '/api/info', { headers: { 'X-API-Key': KEY } });
    assert.equal(old.status, 404, old.text);
  });

  test('http_api.disabled removes the endpoints', async (t) => {
    const g = await startGyre({ ...SPEC_CONFIG, http_api: { key: KEY, disabled: true } });
    t.after(() => g.stop());
    for (const path of ['/api/info', '/api/publish', '/api']) {
      const r = await post(g.url, path, { headers: { 'X-API-Key': KEY } });
      assert.equal(r.status, 404, `${path}: ${r.text}`);
    }
  });
});

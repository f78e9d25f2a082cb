// The auth-jwt plugin end to end, with tokens minted by the npm jose
// package: every algorithm against the key slot Centrifugo's config has for
// it, the attack cases (alg none, algorithm confusion, forged, malformed,
// oversized tokens), claim checks (aud, iss, exp, nbf, types, duplicates),
// server-side subscriptions from claims, subscription tokens, and secrets
// kept out of the log. The plugin loads because client.token.* names a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { openRaw } from './lib/rawws.js';
import { hs256Raw, keyFor, mint, unsecured } from './lib/jwt.js';

const TEST_TIMEOUT = 60_000;

const NAMESPACE = {
  allow_subscribe_for_client: true,
  presence: true,
  allow_presence_for_subscriber: true,
};

function config(token, extra = {}) {
  return {
    client: { token, ...(extra.client || {}) },
    channel: { without_namespace: NAMESPACE, namespaces: [{ name: 'srv', ...NAMESPACE }] },
    ...(extra.top || {}),
  };
}

// Connects raw with `token`; resolves {reply} (the first message) or
// {closed: {code, reason}} when the server closes first.
async function tryConnect(gyre, token, t) {
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token } });
  try {
    return { ws, reply: await ws.nextJson(3000) };
  } catch {
    return { ws, closed: await ws.closed };
  }
}

async function expectUser(gyre, token, user, t) {
  const { ws, reply, closed } = await tryConnect(gyre, token, t);
  assert.ok(reply?.connect, `connect refused: ${JSON.stringify(reply ?? closed)}`);
  const channel = `who-${Math.random().toString(36).slice(2)}`;
  ws.sendJson({ id: 2, subscribe: { channel } });
  assert.ok((await ws.nextJson()).subscribe);
  const p = await gyre.api('presence', { channel });
  assert.deepEqual(Object.values(p.json.result.presence).map((c) => c.user), [user], p.text);
  return reply.connect;
}

async function expectClosed(gyre, token, code, t, what) {
  const { closed, reply } = await tryConnect(gyre, token, t);
  assert.equal(closed?.code, code, `${what}: expected close ${code}, got ${JSON.stringify(reply ?? closed)}`);
}

async function expectError(gyre, token, code, t, what) {
  const { reply, closed } = await tryConnect(gyre, token, t);
  assert.equal(reply?.error?.code, code, `${what}: expected error ${code}, got ${JSON.stringify(reply ?? closed)}`);
}

test('every algorithm, each with the key slot it belongs to', { timeout: TEST_TIMEOUT }, async (t) => {
  const groups = [
    ['HS256', 'HS384', 'HS512'],
    ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    ['ES256'],
    ['ES384'],
    ['ES512'],
    ['EdDSA'],
  ];
  for (const algs of groups) {
    const key = await keyFor(algs[0]);
    const gyre = await startGyre(config(key.config));
    t.after(() => gyre.stop());
    await gyre.waitForLog(/loaded plugin auth-jwt/, 2000);
    for (const alg of algs) {
      const token = await mint({ sub: `u-${alg}` }, { ...key, alg }, { expiresIn: 60 });
      const c = await expectUser(gyre, token, `u-${alg}`, t);
      assert.equal(c.expires, true, alg);
      assert.ok(c.ttl > 50 && c.ttl <= 60, `${alg}: ttl ${c.ttl}`);
    }
    // The secret or key never reaches the log.
    if (key.secret) assert.ok(!gyre.stderr().includes(key.secret), 'the HMAC secret was logged');
  }
});

test('attacks: alg none, HMAC with the RSA public key as secret, forged and malformed tokens', { timeout: TEST_TIMEOUT }, async (t) => {
  const rsa = await keyFor('RS256');
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config({ ...rsa.config, ...hs.config }));
  t.after(() => gyre.stop());
  await expectUser(gyre, await mint({ sub: 'ok' }, rsa), 'ok', t);
  await expectClosed(gyre, unsecured({ sub: 'admin' }), 3500, t, 'alg none');
  // CVE-2015-9235: the public key's PEM as an HMAC secret.
  const confused = hs256Raw(JSON.stringify({ alg: 'HS256' }), JSON.stringify({ sub: 'admin' }), rsa.publicPem);
  await expectClosed(gyre, confused, 3500, t, 'HS256 signed with the RSA public key');
  const good = await mint({ sub: 'x' }, hs);
  const [h, p, s] = good.split('.');
  const flipped = `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
  await expectClosed(gyre, flipped, 3500, t, 'wrong signature');
  const otherUser = Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url');
  await expectClosed(gyre, `${h}.${otherUser}.${s}`, 3500, t, 'claims swapped under a valid signature');
  await expectClosed(gyre, good.slice(0, good.length - 10), 3500, t, 'truncated');
  await expectClosed(gyre, `${h}.${p}`, 3500, t, 'two segments');
  await expectClosed(gyre, `${h}!.${p}.${s}`, 3500, t, 'bad base64url');
  await expectClosed(gyre, hs256Raw('not json', '{"sub":"1"}', hs.secret), 3500, t, 'header not JSON');
  await expectClosed(gyre, hs256Raw('{"alg":"HS256"}', '{"sub":', hs.secret), 3500, t, 'payload not JSON');
  await expectClosed(gyre, hs256Raw('{"alg":"HS256"}', '{"sub":"a","sub":"admin"}', hs.secret), 3500, t, 'duplicate claims');
  await expectClosed(gyre, hs256Raw('{"alg":"HS256"}', '{"sub":42}', hs.secret), 3500, t, 'sub not a string');
  await expectClosed(gyre, hs256Raw('{"alg":"HS256"}', '{"sub":"a","exp":"9999999999"}', hs.secret), 3500, t, 'exp as a string');
  await expectClosed(gyre, hs256Raw('{"alg":"HS256"}', '{"sub":"a","channel":"x"}', hs.secret), 3500, t, 'channel in a connection token');
  // A 1 MB token exceeds the WebSocket message limit: 1009 before any parsing.
  const huge = await mint({ sub: 'a', pad: 'x'.repeat(1024 * 1024) }, hs);
  await expectClosed(gyre, huge, 1009, t, '1 MB token');
  // Still serving.
  await expectUser(gyre, await mint({ sub: 'after' }, hs), 'after', t);
});

test('exp, nbf: error 109 (the SDK fetches a new token); a past expire_at: 110', { timeout: TEST_TIMEOUT }, async (t) => {
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config(hs.config));
  t.after(() => gyre.stop());
  await expectError(gyre, await mint({ sub: 'a' }, hs, { expiresIn: -10 }), 109, t, 'expired');
  await expectError(gyre, await mint({ sub: 'a' }, hs, { notBefore: 60 }), 109, t, 'not yet valid');
  await expectError(gyre, await mint({ sub: 'a', expire_at: Math.floor(Date.now() / 1000) - 5 }, hs), 110, t, 'expire_at past');
  // expire_at 0 with a short exp: a connection that never expires.
  const c = await expectUser(gyre, await mint({ sub: 'once', expire_at: 0 }, hs, { expiresIn: 30 }), 'once', t);
  assert.equal(c.expires, undefined, JSON.stringify(c));
});

test('audience and issuer, exact and by pattern', { timeout: TEST_TIMEOUT }, async (t) => {
  const hs = await keyFor('HS256');
  const exact = await startGyre(config({ ...hs.config, audience: 'chat', issuer: 'https://id.example.com' }));
  t.after(() => exact.stop());
  await expectUser(exact, await mint({ sub: 'a', aud: 'chat', iss: 'https://id.example.com' }, hs), 'a', t);
  await expectUser(exact, await mint({ sub: 'b', aud: ['x', 'chat'], iss: 'https://id.example.com' }, hs), 'b', t);
  await expectClosed(exact, await mint({ sub: 'a', aud: 'other', iss: 'https://id.example.com' }, hs), 3500, t, 'wrong aud');
  await expectClosed(exact, await mint({ sub: 'a', aud: 'chat', iss: 'https://evil.example.com' }, hs), 3500, t, 'wrong iss');
  await expectClosed(exact, await mint({ sub: 'a' }, hs), 3500, t, 'no aud');
  const rx = await startGyre(config({ ...hs.config, audience_regex: '^chat-[a-z]+$', issuer_regex: '\\.example\\.com$' }));
  t.after(() => rx.stop());
  await expectUser(rx, await mint({ sub: 'c', aud: 'chat-eu', iss: 'https://id.example.com' }, hs), 'c', t);
  await expectClosed(rx, await mint({ sub: 'c', aud: 'chat-EU', iss: 'https://id.example.com' }, hs), 3500, t, 'aud pattern');
  await expectClosed(rx, await mint({ sub: 'c', aud: 'chat-eu', iss: 'https://id.example.org' }, hs), 3500, t, 'iss pattern');
});

test('claims: info, b64info, channels and subs as server-side subscriptions, user_id_claim, anonymous tokens', { timeout: TEST_TIMEOUT }, async (t) => {
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config({ ...hs.config, user_id_claim: 'uid' }, { client: { disallow_anonymous_connection_tokens: true } }));
  t.after(() => gyre.stop());
  // The user comes from uid, not sub.
  const c = await expectUser(gyre, await mint({ sub: 'not-me', uid: 'me', info: { name: 'Me' } }, hs), 'me', t);
  assert.ok(c.client);
  const { ws, reply } = await tryConnect(
    gyre,
    await mint({ uid: 'u1', channels: ['srv:a'], subs: { 'srv:b': { b64info: Buffer.from('{"s":1}').toString('base64'), data: { hello: 1 } } } }, hs),
    t,
  );
  // subs wins over channels: srv:b only, with its data.
  assert.deepEqual(Object.keys(reply.connect.subs), ['srv:b'], JSON.stringify(reply));
  assert.deepEqual(reply.connect.subs['srv:b'].data, { hello: 1 });
  const p = await gyre.api('presence', { channel: 'srv:b' });
  assert.deepEqual(Object.values(p.json.result.presence)[0].chan_info, { s: 1 }, p.text);
  assert.equal((await gyre.api('publish', { channel: 'srv:b', data: { n: 1 } })).status, 200);
  let pub;
  do pub = await ws.nextJson();
  while (!pub.push?.pub);
  assert.deepEqual(pub.push, { channel: 'srv:b', pub: { data: { n: 1 } } });
  // A token of no user is refused when the config says so.
  await expectClosed(gyre, await mint({ uid: '' }, hs), 3507, t, 'anonymous token');
  // A server-side subscription to an unknown namespace fails the connect.
  await expectError(gyre, await mint({ uid: 'u2', channels: ['nope:x'] }, hs), 102, t, 'unknown channel');
});

test('subscription tokens: the right user and channel, 103 for invalid, 109 for expired, 3500 for another\'s', { timeout: TEST_TIMEOUT }, async (t) => {
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config(hs.config));
  t.after(() => gyre.stop());
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: await mint({ sub: 'ann' }, hs) } });
  const { connect } = await ws.nextJson();
  let id = 2;
  const subscribe = async (channel, token) => {
    ws.sendJson({ id, subscribe: { channel, token } });
    return ws.nextJson().then((r) => (id++, r));
  };
  // A private channel: no token 103; a token for it: subscribed with data.
  assert.equal((await subscribe('$vip', undefined)).error?.code, 103);
  const ok = await subscribe('$vip', await mint({ sub: 'ann', channel: '$vip', data: { w: 1 }, info: { seat: 3 } }, hs, { expiresIn: 60 }));
  assert.equal(ok.subscribe?.expires, true, JSON.stringify(ok));
  assert.deepEqual(ok.subscribe.data, { w: 1 });
  const pr = await gyre.api('presence', { channel: '$vip' });
  assert.deepEqual(Object.values(pr.json.result.presence)[0].chan_info, { seat: 3 });
  // Bound to this client.
  assert.ok((await subscribe('$bound', await mint({ sub: 'ann', channel: '$bound', client: connect.client }, hs))).subscribe);
  assert.equal((await subscribe('$x', hs256Raw('{"alg":"HS256"}', '{"sub":"ann","channel":"$x"}', 'wrong'))).error?.code, 103);
  assert.equal((await subscribe('$y', await mint({ sub: 'ann', channel: '$y' }, hs, { expiresIn: -1 }))).error?.code, 109);
  assert.equal((await subscribe('$z', await mint({ sub: 'ann' }, hs))).error?.code, 103); // no channel claim
  // Another channel's token: disconnect 3500.
  ws.sendJson({ id, subscribe: { channel: '$mine', token: await mint({ sub: 'ann', channel: '$theirs' }, hs) } });
  assert.equal((await ws.closed).code, 3500);
  // Another user's, another client's: 3500 too.
  for (const claims of [{ sub: 'bob', channel: '$c' }, { sub: 'ann', channel: '$c', client: 'someone-else' }]) {
    const w = await openRaw(gyre.wsUrl);
    t.after(() => w.terminate());
    w.sendJson({ id: 1, connect: { token: await mint({ sub: 'ann' }, hs) } });
    await w.nextJson();
    w.sendJson({ id: 2, subscribe: { channel: '$c', token: await mint(claims, hs) } });
    assert.equal((await w.closed).code, 3500, JSON.stringify(claims));
  }
});

test('client.subscription_token.* with enabled: its own key for subscription tokens', { timeout: TEST_TIMEOUT }, async (t) => {
  const conn = await keyFor('HS256');
  const sub = await keyFor('ES256');
  const gyre = await startGyre({
    ...config(conn.config),
    client: { token: conn.config, subscription_token: { enabled: true, ...sub.config } },
  });
  t.after(() => gyre.stop());
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: await mint({ sub: 'z' }, conn) } });
  assert.ok((await ws.nextJson()).connect);
  ws.sendJson({ id: 2, subscribe: { channel: '$s', token: await mint({ sub: 'z', channel: '$s' }, conn) } });
  assert.equal((await ws.nextJson()).error?.code, 103, 'the connection key must not sign subscriptions');
  ws.sendJson({ id: 3, subscribe: { channel: '$s', token: await mint({ sub: 'z', channel: '$s' }, sub) } });
  assert.ok((await ws.nextJson()).subscribe);
  assert.doesNotMatch(gyre.stderr(), /unknown key client\.subscription_token/);
});

test('refresh: a new token extends the connection; expired 3005, another user 3500', { timeout: TEST_TIMEOUT }, async (t) => {
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config(hs.config, { client: { expired_close_delay: '1s' } }));
  t.after(() => gyre.stop());
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token: await mint({ sub: 'r' }, hs, { expiresIn: 2 }) } });
  assert.equal((await ws.nextJson()).connect.ttl, 2);
  ws.sendJson({ id: 2, refresh: { token: await mint({ sub: 'r' }, hs, { expiresIn: 100 }) } });
  const r = await ws.nextJson();
  assert.equal(r.refresh?.ttl, 100, JSON.stringify(r));
  // Past the first token's expiry and grace: still connected.
  await new Promise((res) => setTimeout(res, 3500));
  assert.equal(ws.closeInfo, null);
  ws.sendJson({ id: 3, refresh: { token: await mint({ sub: 'r' }, hs, { expiresIn: -1 }) } });
  assert.equal((await ws.closed).code, 3005);
  const w2 = await openRaw(gyre.wsUrl);
  t.after(() => w2.terminate());
  w2.sendJson({ id: 1, connect: { token: await mint({ sub: 'r' }, hs, { expiresIn: 60 }) } });
  await w2.nextJson();
  w2.sendJson({ id: 2, refresh: { token: await mint({ sub: 'mallory' }, hs, { expiresIn: 60 }) } });
  assert.equal((await w2.closed).code, 3500);
});

test('gyre gentoken / gensubtoken print tokens the running config accepts; checktoken verifies', { timeout: TEST_TIMEOUT }, async (t) => {
  const { runGyre } = await import('./lib/server.js');
  const hs = await keyFor('HS256');
  const gyre = await startGyre(config({ ...hs.config, user_id_claim: 'uid' }));
  t.after(() => gyre.stop());
  const cli = (...args) => runGyre([args[0], '-c', gyre.configFile, ...args.slice(1)]);
  const gen = await cli('gentoken', '-u', 'cli-user', '-t', '3600', '--info', '{"from":"cli"}');
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stdout, /^HMAC SHA-256 JWT for user "cli-user" with expiration TTL 1h0m0s:\n/);
  const token = gen.stdout.trim().split('\n').at(-1);
  assert.ok(!gen.stderr.includes(hs.secret) && !gen.stdout.includes(hs.secret));
  const c = await expectUser(gyre, token, 'cli-user', t);
  assert.ok(c.ttl > 3500 && c.ttl <= 3600, `ttl ${c.ttl}`);
  const check = await cli('checktoken', token);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^valid token for user "cli-user"\npayload: \{"uid":"cli-user","iat":\d+,"exp":\d+,"info":\{"from":"cli"\}\}\n$/);
  const bad = await cli('checktoken', `${token}x`);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /token is invalid: /);
  const quiet = await cli('gentoken', '-u', 'q', '-q', '-t', '-1');
  assert.match(quiet.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  assert.equal(JSON.parse(Buffer.from(quiet.stdout.split('.')[1], 'base64url')).exp, undefined);
  // A subscription token for a private channel.
  const sub = await cli('gensubtoken', '-u', 'cli-user', '-s', '$cli', '-q');
  assert.equal(sub.code, 0, sub.stderr);
  const ws = await openRaw(gyre.wsUrl);
  t.after(() => ws.terminate());
  ws.sendJson({ id: 1, connect: { token } });
  await ws.nextJson();
  ws.sendJson({ id: 2, subscribe: { channel: '$cli', token: sub.stdout.trim() } });
  assert.ok((await ws.nextJson()).subscribe);
  const subcheck = await cli('checksubtoken', sub.stdout.trim());
  assert.match(subcheck.stdout, /^valid subscription token for user "cli-user" and channel "\$cli"\n/);
  // Bad usage: 2; no HMAC secret to mint with: 1.
  assert.equal((await cli('gentoken')).code, 2);
  const rsa = await keyFor('RS256');
  const rsaGyre = await startGyre(config(rsa.config));
  t.after(() => rsaGyre.stop());
  const noSecret = await runGyre(['gentoken', '-c', rsaGyre.configFile, '-u', 'x']);
  assert.equal(noSecret.code, 1);
  assert.match(noSecret.stderr, /needs client\.token\.hmac_secret_key/);
  const help = await runGyre(['gentoken', '--help', '-c', gyre.configFile]);
  assert.match(help.stdout, /^Usage: gyre gentoken -u USER/);
});

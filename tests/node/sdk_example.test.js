// The SDK as a third party uses it: install the SDK component of this build
// into a temporary prefix, build each of sdk/examples/ out of tree with
// find_package(Gyre), run gyre with it, and use it: engine-echo as the
// engine, auth-secret as the auth hook of real centrifuge SDK clients.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GYRE_BIN, REPO_ROOT, runGyre, startGyre, writeTempConfig } from './lib/server.js';
import { newCentrifuge, waitFor, waitUntil } from './lib/client.js';
import { rawSubscriber } from './lib/rawws.js';

const BUILD_DIR = path.dirname(path.resolve(GYRE_BIN));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-sdk-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

// Installs the SDK once; builds an example against it; returns its build dir.
let prefix = null;
function buildExample(name) {
  if (!prefix) {
    prefix = path.join(tmp, 'prefix');
    run('cmake', ['--install', BUILD_DIR, '--component', 'sdk', '--prefix', prefix]);
    assert.ok(fs.existsSync(path.join(prefix, 'include', 'gyre', 'plugin.h')));
  }
  const pluginBuild = path.join(tmp, `${name}-build`);
  run('cmake', ['-S', path.join(REPO_ROOT, 'sdk', 'examples', name), '-B', pluginBuild,
    `-DCMAKE_PREFIX_PATH=${prefix}`]);
  run('cmake', ['--build', pluginBuild]);
  assert.ok(fs.existsSync(path.join(pluginBuild, `${name}.so`)));
  return pluginBuild;
}

test('engine-echo built against the installed SDK runs as gyre\'s engine', { timeout: 120_000 }, async (t) => {
  const pluginBuild = buildExample('engine-echo');

  const server = await startGyre({
    client: { insecure: true },
    channel: { without_namespace: { presence: true } },
    engine: { type: 'echo' },
    plugins: { dir: pluginBuild, load: [{ name: 'engine-echo', config: { greeting: 'echo says hi' } }] },
    log: { level: 'info' },
  });
  t.after(() => server.stop());
  await server.waitForLog(/\[engine-echo\] echo says hi/);
  const subs = await Promise.all([rawSubscriber(server.wsUrl, 'news'), rawSubscriber(server.wsUrl, 'news')]);
  t.after(() => subs.forEach((s) => s.ws.terminate()));
  for (let n = 1; n <= 3; n++) {
    const r = await server.api('publish', { channel: 'news', data: { n } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.result, {}, r.text);
  }
  await waitUntil(() => subs.every((s) => s.got.length >= 3), 5000, 'three publications on both');
  for (const s of subs) assert.deepEqual(s.got, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  // Presence is on for the channel, but the engine has no presence hooks:
  // the node reports presence as not available (108).
  const p = await server.api('presence', { channel: 'news' });
  assert.equal(p.json.error?.code, 108, p.text);
});

test('auth-secret built against the installed SDK admits SDK clients that carry the secret', { timeout: 120_000 }, async (t) => {
  const pluginBuild = buildExample('auth-secret');
  const server = await startGyre({
    channel: { without_namespace: { allow_subscribe_for_client: true, presence: true, allow_presence_for_subscriber: true } },
    plugins: { load: [{ name: 'auth-secret', path: path.join(pluginBuild, 'auth-secret.so'), config: { secret: 's3cret' } }] },
  });
  t.after(() => server.stop());
  await server.waitForLog(/\[auth-secret\] admitting connections that carry the shared secret/);
  assert.doesNotMatch(server.stderr(), /s3cret/, 'the secret must never be logged');

  const ok = newCentrifuge(server.wsUrl, { data: { secret: 's3cret', user: 'ann' } });
  t.after(() => ok.disconnect());
  const connected = waitFor(ok, 'connected');
  ok.connect();
  await connected;
  const sub = ok.newSubscription('lobby');
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  const p = await server.api('presence', { channel: 'lobby' });
  const [who] = Object.values(p.json.result.presence);
  assert.equal(who.user, 'ann');
  assert.deepEqual(who.conn_info, { via: 'secret' });

  // A wrong secret: error 101, which the SDK treats as final.
  const wrong = newCentrifuge(server.wsUrl, { data: { secret: 'guess', user: 'mallory' } });
  t.after(() => wrong.disconnect());
  const refused = waitFor(wrong, 'disconnected');
  wrong.connect();
  assert.equal((await refused).code, 101);

  // No secret: the plugin declines and the server's rules apply (no
  // anonymous connections here: 3501).
  const none = newCentrifuge(server.wsUrl, {});
  t.after(() => none.disconnect());
  const declined = waitFor(none, 'disconnected');
  none.connect();
  assert.equal((await declined).code, 3501);

  // A missing secret in the config fails startup with the plugin's reason.
  const { file, dir } = writeTempConfig({
    http_server: { address: '127.0.0.1', port: 0 },
    plugins: { load: [{ name: 'auth-secret', path: path.join(pluginBuild, 'auth-secret.so') }] },
  });
  const r = await runGyre(['-c', file], { cwd: dir, timeoutMs: 5000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\[auth-secret\] config "secret" is required/);
});

test('transport-sse-lite built against the installed SDK streams a session to a plain HTTP client', { timeout: 120_000 }, async (t) => {
  const pluginBuild = buildExample('transport-sse-lite');
  const server = await startGyre({
    client: { allow_anonymous_connect_without_token: true },
    plugins: { load: [{ name: 'transport-sse-lite', path: path.join(pluginBuild, 'transport-sse-lite.so') }] },
  });
  t.after(() => server.stop());
  // What curl -N does: read the events as they come.
  const ac = new AbortController();
  t.after(() => ac.abort());
  const res = await fetch(`${server.url}/sse-lite?cf_connect=${encodeURIComponent('{}')}`, { signal: ac.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('x-accel-buffering'), 'no');
  const events = [];
  let text = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      text += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const ev = text.slice(0, end);
        text = text.slice(end + 2);
        if (ev.startsWith('data: ')) events.push(JSON.parse(ev.slice(6)));
      }
    }
  })().catch(() => {});
  const connect = await waitUntil(() => events.find((e) => e.connect), 5000, 'the connect push');
  const client = connect.connect.client;
  assert.equal((await server.api('subscribe', { channel: 'news', user: '', client })).status, 200);
  await waitUntil(() => events.find((e) => e.subscribe), 5000, 'the subscribe push');
  assert.equal((await server.api('publish', { channel: 'news', data: { x: 1 } })).status, 200);
  const pub = await waitUntil(() => events.find((e) => e.pub), 5000, 'the publication');
  assert.deepEqual(pub, { channel: 'news', pub: { data: { x: 1 } } });
  await server.api('disconnect', { client, user: '', disconnect: { code: 4500, reason: 'bye' } });
  await reading;
  assert.deepEqual(events.at(-1), { disconnect: { code: 4500, reason: 'bye' } });
  // Anything but GET: the plugin's 405.
  const post = await fetch(`${server.url}/sse-lite`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
});

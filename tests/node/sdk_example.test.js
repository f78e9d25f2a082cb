// The SDK as a third party uses it: install the SDK component of this build
// into a temporary prefix, build sdk/examples/engine-echo out of tree with
// find_package(Gyre), run gyre with it as the engine, and use it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GYRE_BIN, REPO_ROOT, startGyre } from './lib/server.js';
import { waitUntil } from './lib/client.js';
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

test('engine-echo built against the installed SDK runs as gyre\'s engine', { timeout: 120_000 }, async (t) => {
  const prefix = path.join(tmp, 'prefix');
  run('cmake', ['--install', BUILD_DIR, '--component', 'sdk', '--prefix', prefix]);
  assert.ok(fs.existsSync(path.join(prefix, 'include', 'gyre', 'plugin.h')));
  const pluginBuild = path.join(tmp, 'echo-build');
  run('cmake', ['-S', path.join(REPO_ROOT, 'sdk', 'examples', 'engine-echo'), '-B', pluginBuild,
    `-DCMAKE_PREFIX_PATH=${prefix}`]);
  run('cmake', ['--build', pluginBuild]);
  assert.ok(fs.existsSync(path.join(pluginBuild, 'engine-echo.so')));

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

// The command line (core/cli.cc) and where the configuration comes from
// (core/config.cc): subcommands, help, exit codes, genconfig/checkconfig, and
// the precedence flags > GYRE_* environment > config file > defaults
// (spec server-api.md §3.1, §8.2).
//
// The harness strips GYRE_* from the server's environment, so the tests that
// need environment variables spawn the binary themselves with an explicit
// environment (and always kill it in `finally`).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { GYRE_BIN, REPO_ROOT, freePort, runGyre } from './lib/server.js';
import { newCentrifuge, waitFor } from './lib/client.js';

// ---------------------------------------------------------------------------
// Helpers

const tempDirs = [];
function tempDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-cli-'));
  tempDirs.push(d);
  return d;
}

const spawned = new Set();
function killSpawned() {
  for (const p of spawned) {
    try {
      p.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  spawned.clear();
}
function removeTempDirs() {
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', () => {
  killSpawned();
  removeTempDirs();
});

after(() => {
  killSpawned();
  removeTempDirs();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Our environment without any GYRE_* variable, plus `extra`.
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GYRE_')) env[k] = v;
  return { ...env, ...extra };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// Spawns `gyre ...args` with exactly cleanEnv(env). Returns a handle with
// output(), waitListening(port), waitExit(ms) and kill() (idempotent).
function spawnGyre(args, { env = {}, cwd } = {}) {
  const proc = spawn(GYRE_BIN, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('close', (code, signal) => {
      exitInfo = { code, signal };
      spawned.delete(proc);
      resolve(exitInfo);
    });
  });
  const describe = () => `gyre ${args.join(' ')}\n--- output ---\n${out}`;
  return {
    proc,
    output: () => out,
    describe,
    async waitListening(port, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exitInfo) throw new Error(`gyre exited (${JSON.stringify(exitInfo)}) before listening\n${describe()}`);
        if (await canConnect(port)) return;
        if (Date.now() > deadline) throw new Error(`gyre not listening on ${port} after ${timeoutMs} ms\n${describe()}`);
        await sleep(50);
      }
    },
    async waitExit(timeoutMs = 5000) {
      let timer;
      return Promise.race([
        exited,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`gyre did not exit in ${timeoutMs} ms\n${describe()}`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    async kill() {
      if (!exitInfo) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      return exitInfo;
    },
  };
}

async function apiCall(port, method, body, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (key !== undefined) headers['X-API-Key'] = key;
  const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

// Several distinct free ports.
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function writeJson(dir, name, obj) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2));
  return file;
}

function projectVersion() {
  const cm = fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');
  return cm.match(/project\(gyre VERSION (\d+\.\d+\.\d+)/)[1];
}

// ---------------------------------------------------------------------------
// version, help, unknown commands and flags

test('gyre version prints "Gyre v<x.y.z>" and exits 0', async () => {
  const r = await runGyre(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Gyre v\d+\.\d+\.\d+\n$/);
  assert.equal(r.stdout, `Gyre v${projectVersion()}\n`, 'version differs from project(VERSION)');
  assert.equal(r.stderr, '');
});

test('--help works on every command and mentions it', async () => {
  const cases = [
    [['--help'], ['serve', 'genconfig', 'checkconfig', 'plugins', 'version']],
    [['-h'], ['serve', 'genconfig', 'checkconfig', 'plugins', 'version']],
    [['help'], ['serve', 'genconfig', 'checkconfig', 'plugins', 'version']],
    [['serve', '--help'], ['serve', '--config', '--http_server.port']],
    [['genconfig', '--help'], ['genconfig', '--dev']],
    [['checkconfig', '--help'], ['checkconfig', '--strict']],
    [['plugins', '--help'], ['plugins', '-c FILE']],
    [['version', '--help'], ['version']],
  ];
  for (const [args, words] of cases) {
    // A server that starts instead of printing help never exits: runGyre
    // then rejects on its timeout.
    const r = await runGyre(args, { timeoutMs: 5000, cwd: tempDir() });
    const what = `gyre ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
    assert.equal(r.code, 0, what);
    assert.match(r.stdout, /usage/i, what);
    for (const w of words) assert.ok(r.stdout.includes(w), `help should mention ${w}\n${what}`);
    assert.equal(r.stderr, '', what);
  }
});

test('unknown command, unknown flag and a flag without its value exit 2 with a message', async () => {
  const cases = [
    [['bogus'], /unknown command bogus/],
    [['--bogus'], /unknown flag --bogus/],
    [['serve', '--bogus'], /unknown flag --bogus/],
    [['-p'], /-p.*needs a value|needs a value.*-p/],
    [['genconfig', '--bogus'], /unknown argument --bogus/],
    [['checkconfig', 'x.json', '--bogus'], /unknown argument --bogus/],
    [['plugins', '--bogus'], /unknown argument --bogus/],
  ];
  for (const [args, re] of cases) {
    const r = await runGyre(args, { timeoutMs: 5000, cwd: tempDir() });
    const what = `gyre ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
    assert.equal(r.code, 2, what);
    assert.match(r.stderr, re, what);
    assert.doesNotMatch(r.stderr, /listening on/, what);
  }
});

// ---------------------------------------------------------------------------
// genconfig / checkconfig

test('genconfig writes a config checkconfig accepts, with a 64-char API key; never overwrites', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'c.json');
  const r = await runGyre(['genconfig', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(file), 'genconfig did not write the file');
  const text = fs.readFileSync(file, 'utf8');
  const cfg = JSON.parse(text);
  assert.match(cfg?.http_api?.key ?? '', /^[A-Za-z0-9]{64}$/, text);
  assert.match(cfg?.client?.token?.hmac_secret_key ?? '', /^[A-Za-z0-9]{64}$/, text);
  assert.deepEqual(cfg.client.allowed_origins, [], text);
  assert.notEqual(cfg.http_api.key, cfg.client.token.hmac_secret_key);

  for (const args of [['checkconfig', file], ['checkconfig', '-c', file], ['checkconfig', '--strict', file]]) {
    const c = await runGyre(args);
    assert.equal(c.code, 0, `gyre ${args.join(' ')}: ${c.stderr}`);
    assert.equal(c.stdout, '', 'checkconfig must be silent on success');
    assert.equal(c.stderr, '', 'checkconfig must be silent on success');
  }

  // Refuses to overwrite: exit 1, file untouched.
  const again = await runGyre(['genconfig', '-c', file]);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, /exists/);
  assert.equal(fs.readFileSync(file, 'utf8'), text, 'genconfig changed an existing file');

  // Another run makes another key; the default file name is config.json.
  const other = await runGyre(['genconfig'], { cwd: dir });
  assert.equal(other.code, 0, other.stderr);
  const cfg2 = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.match(cfg2.http_api.key, /^[A-Za-z0-9]{64}$/);
  assert.notEqual(cfg2.http_api.key, cfg.http_api.key, 'two genconfig runs made the same key');
});

test('genconfig --dev: an anonymous SDK client subscribes and receives an API publish', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'dev.json');
  const g = await runGyre(['genconfig', '--dev', '-c', file]);
  assert.equal(g.code, 0, g.stderr);
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const key = cfg.http_api.key;

  const port = await freePort();
  const srv = spawnGyre(['-c', file, '-p', String(port), '-a', '127.0.0.1'], { cwd: dir });
  let client;
  try {
    await srv.waitListening(port);
    client = newCentrifuge(`ws://127.0.0.1:${port}/connection/websocket`);
    const connected = waitFor(client, 'connected');
    client.connect(); // no token
    await connected;
    const sub = client.newSubscription('news');
    const subscribed = waitFor(sub, 'subscribed');
    sub.subscribe();
    await subscribed;
    const got = waitFor(sub, 'publication');
    const pub = await apiCall(port, 'publish', { channel: 'news', data: { hello: 'dev' } }, key);
    assert.equal(pub.status, 200, pub.text);
    assert.equal(pub.json?.error, undefined, pub.text);
    const ctx = await got;
    assert.deepEqual(ctx.data, { hello: 'dev' });
    // --dev also turns on /health.
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
  } finally {
    client?.disconnect();
    await srv.kill();
  }
});

test('checkconfig: an invalid value exits 1 and names the key', async () => {
  const dir = tempDir();
  const file = writeJson(dir, 'bad.json', { client: { ping_interval: 'abc' } });
  const r = await runGyre(['checkconfig', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /client\.ping_interval/);
  assert.equal(r.stdout, '');
});

test('checkconfig: an unknown key warns (exit 0), --strict makes it fail (exit 1)', async () => {
  const dir = tempDir();
  const file = writeJson(dir, 'unknown.json', { client: { no_such_option: 1 } });
  const lax = await runGyre(['checkconfig', file]);
  assert.equal(lax.code, 0, lax.stderr);
  assert.match(lax.stderr, /warn/i);
  assert.match(lax.stderr, /client\.no_such_option/);
  const strict = await runGyre(['checkconfig', '--strict', file]);
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /client\.no_such_option/);
  // Flag after the file works too.
  const strict2 = await runGyre(['checkconfig', file, '--strict']);
  assert.equal(strict2.code, 1, strict2.stderr);
});

test('checkconfig: invalid JSON and a missing file exit 1', async () => {
  const dir = tempDir();
  const file = writeJson(dir, 'broken.json', '{"client": {');
  const r = await runGyre(['checkconfig', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /JSON/);
  assert.ok(r.stderr.includes(file), `the message should name the file: ${r.stderr}`);
  const m = await runGyre(['checkconfig', path.join(dir, 'missing.json')]);
  assert.equal(m.code, 1, m.stderr);
  assert.match(m.stderr, /missing\.json/);
});

// ---------------------------------------------------------------------------
// Precedence: flags > environment > file > defaults

test('environment overrides the file: GYRE_HTTP_API_KEY and GYRE_HTTP_SERVER_PORT', async () => {
  const dir = tempDir();
  const [filePort, envPort] = await freePorts(2);
  const file = writeJson(dir, 'c.json', {
    http_server: { address: '127.0.0.1', port: filePort },
    http_api: { key: 'file-key' },
  });
  const srv = spawnGyre(['-c', file], {
    cwd: dir,
    env: { GYRE_HTTP_API_KEY: 'env-key', GYRE_HTTP_SERVER_PORT: String(envPort) },
  });
  try {
    await srv.waitListening(envPort);
    assert.equal(await canConnect(filePort), false, 'listening on the file port despite the env');
    const ok = await apiCall(envPort, 'info', {}, 'env-key');
    assert.equal(ok.status, 200, ok.text);
    const fileKey = await apiCall(envPort, 'info', {}, 'file-key');
    assert.equal(fileKey.status, 401, `file-key must no longer work: ${fileKey.status} ${fileKey.text}`);
  } finally {
    await srv.kill();
  }
});

test('a flag overrides the environment: -p beats GYRE_HTTP_SERVER_PORT (and the file)', async () => {
  const dir = tempDir();
  const [filePort, envPort, flagPort] = await freePorts(3);
  const file = writeJson(dir, 'c.json', {
    http_server: { address: '127.0.0.1', port: filePort },
    http_api: { key: 'file-key' },
  });
  const srv = spawnGyre(['-c', file, '-p', String(flagPort)], {
    cwd: dir,
    env: { GYRE_HTTP_SERVER_PORT: String(envPort) },
  });
  try {
    await srv.waitListening(flagPort);
    assert.equal(await canConnect(envPort), false, 'listening on the env port despite -p');
    assert.equal(await canConnect(filePort), false, 'listening on the file port despite -p');
    // Without an env key, the file's key applies.
    const ok = await apiCall(flagPort, 'info', {}, 'file-key');
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await srv.kill();
  }
});

test('--http_server.port=N form and -a work as flags', async () => {
  const dir = tempDir();
  const [port] = await freePorts(1);
  const file = writeJson(dir, 'c.json', { http_api: { key: 'k' } });
  const srv = spawnGyre(['-c', file, `--http_server.port=${port}`, '-a', '127.0.0.1'], { cwd: dir });
  try {
    await srv.waitListening(port);
    assert.equal((await apiCall(port, 'info', {}, 'k')).status, 200);
  } finally {
    await srv.kill();
  }
});

test('an invalid environment value stops startup (exit 1) naming the key and the variable', async () => {
  const dir = tempDir();
  const [port] = await freePorts(1);
  const file = writeJson(dir, 'c.json', { http_server: { address: '127.0.0.1', port } });
  const srv = spawnGyre(['-c', file], { cwd: dir, env: { GYRE_CLIENT_CHANNEL_LIMIT: 'abc' } });
  try {
    const exit = await srv.waitExit(3000);
    assert.equal(exit.code, 1, srv.describe());
    assert.match(srv.output(), /client\.channel_limit/, srv.describe());
    assert.match(srv.output(), /GYRE_CLIENT_CHANNEL_LIMIT/, srv.describe());
    assert.doesNotMatch(srv.output(), /listening on/, srv.describe());
  } finally {
    await srv.kill();
  }
});

test('an invalid environment value is explained like the same value in the file ("must be an integer")', async () => {
  // In a file, {"client":{"channel_limit":"abc"}} says "must be an integer";
  // the environment path should say what it expects as clearly.
  const dir = tempDir();
  const [port] = await freePorts(1);
  const file = writeJson(dir, 'c.json', { http_server: { address: '127.0.0.1', port } });
  const srv = spawnGyre(['-c', file], { cwd: dir, env: { GYRE_CLIENT_CHANNEL_LIMIT: 'abc' } });
  try {
    const exit = await srv.waitExit(3000);
    assert.equal(exit.code, 1, srv.describe());
    assert.match(srv.output(), /client\.channel_limit.*integer/, srv.describe());
  } finally {
    await srv.kill();
  }
});

test('an unknown GYRE_ variable only warns, naming it; the server starts', async () => {
  const dir = tempDir();
  const [port] = await freePorts(1);
  const file = writeJson(dir, 'c.json', {
    http_server: { address: '127.0.0.1', port },
    http_api: { key: 'k' },
  });
  const srv = spawnGyre(['-c', file], { cwd: dir, env: { GYRE_NOPE: '1' } });
  try {
    await srv.waitListening(port);
    assert.match(srv.output(), /WARN.*GYRE_NOPE/, srv.describe());
    assert.equal((await apiCall(port, 'info', {}, 'k')).status, 200);
  } finally {
    await srv.kill();
  }
});

// Spawns the real gyre binary for integration tests.
//
//   const gyre = await startGyre({ client: { insecure: true } });
//   const r = await gyre.api('info', {});      // {status, headers, text, json}
//   ...
//   await gyre.stop();
//
// Every spawned process is tracked and killed when this Node process exits
// (normally, on an uncaught error, or on SIGINT/SIGTERM/SIGHUP), so a failing
// test never leaks a server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const GYRE_BIN = process.env.GYRE_BIN
  ? path.resolve(process.env.GYRE_BIN)
  : path.join(REPO_ROOT, 'build', 'gyre');
export const API_KEY = 'test-key';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------
// Process tracking: kill whatever is still alive when we go away.

const live = new Set();
const tempDirs = new Set();
let hooksInstalled = false;

function killAllNow() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const d of tempDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const [sig, num] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ]) {
    process.once(sig, () => {
      killAllNow();
      process.exit(128 + num);
    });
  }
}

function track(proc) {
  installHooks();
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

function makeTempDir() {
  installHooks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-test-'));
  tempDirs.add(dir);
  return dir;
}

function removeTempDir(dir) {
  tempDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Awaits `p` while holding a ref'd timer, so an unref'd child's exit is
// still waited for even when nothing else keeps the event loop alive.
async function keepAlive(p) {
  const t = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(t);
  }
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Recursively merges `over` onto `base`: objects merge, everything else
// (arrays included) replaces. Returns a new object; inputs are not modified.
export function deepMerge(base, over) {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out;
}

// A TCP port that was free on 127.0.0.1 a moment ago (bind port 0, read, close).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves true once something accepts a TCP connection on host:port.
function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// The child's environment: ours minus GYRE_* (GYRE_BIN and anything a
// developer exported would otherwise leak into the server's config), plus
// whatever the test asks for.
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GYRE_')) env[k] = v;
  }
  return { ...env, ...(extra || {}) };
}

function binaryCheck() {
  if (!fs.existsSync(GYRE_BIN)) {
    throw new Error(
      `gyre binary not found at ${GYRE_BIN} (build it with \`make build\` or set GYRE_BIN)`,
    );
  }
}

// ---------------------------------------------------------------------------
// One-shot CLI runs (genconfig, checkconfig, version, bad configs...).

// Runs `gyre ...args` to completion. Resolves {code, signal, stdout, stderr}.
// opts: {cwd, env, timeoutMs (default 10 s, then SIGKILL and reject)}.
export function runGyre(args = [], opts = {}) {
  binaryCheck();
  const timeoutMs = opts.timeoutMs ?? START_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const proc = spawn(GYRE_BIN, args, {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gyre ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// Servers

// Writes `config` as JSON into a fresh temp dir; returns {dir, file}.
export function writeTempConfig(config, name = 'config.json') {
  const dir = makeTempDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return { dir, file };
}

function baseConfig(port) {
  return {
    http_server: { address: '127.0.0.1', port },
    http_api: { key: API_KEY },
    log: { level: 'debug' },
  };
}

// Starts gyre with `config` merged over a base config (127.0.0.1, a free
// port, http_api.key "test-key", debug logs) and waits until it accepts TCP.
//
// opts:
//   args       extra command-line arguments (after `-c <file>`)
//   env        extra environment variables (GYRE_* from our own env are dropped)
//   timeoutMs  how long to wait for the port (default 10 s)
//   cwd        working directory (default: the temp dir holding the config)
//
// If the config sets http_server.port itself, that port is used as is;
// otherwise a free port is picked (and re-picked if another process grabs it
// first).
export async function startGyre(config = {}, opts = {}) {
  binaryCheck();
  if (process.env.GYRE_TEST_ENGINE === 'redis' && config?.engine === undefined) {
    config = deepMerge(config, await testRedisEngine());
  }
  const fixedPort = config?.http_server?.port !== undefined;
  const attempts = fixedPort ? 1 : 3;
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    const port = fixedPort ? config.http_server.port : await freePort();
    try {
      return await startOnce(deepMerge(baseConfig(port), config), port, opts);
    } catch (e) {
      lastErr = e;
      // Only retry when someone else took the port between our probe and bind.
      if (!e.addressInUse) throw e;
    }
  }
  throw lastErr;
}

// GYRE_TEST_ENGINE=redis (the node_redis_* CTest variants): every gyre a
// test starts without an `engine` section of its own gets the Redis engine,
// on one redis-server shared by the whole test process (started on first
// use, killed on exit by lib/redis.js), with a key/channel prefix of its own
// so servers of one process stay as isolated as with the memory engine.
let sharedRedis = null;
let redisPrefixSeq = 0;

async function testRedisEngine() {
  if (!sharedRedis) {
    const { startRedis } = await import('./redis.js');
    sharedRedis = startRedis();
  }
  let r;
  try {
    r = await sharedRedis;
  } catch (e) {
    sharedRedis = null;
    throw e;
  }
  if (!r.running) await r.start();
  redisPrefixSeq += 1;
  return { engine: { type: 'redis', redis: { address: r.url, prefix: `gyretest${process.pid}n${redisPrefixSeq}` } } };
}

async function startOnce(fullConfig, port, opts) {
  const { dir, file } = writeTempConfig(fullConfig);
  const timeoutMs = opts.timeoutMs ?? START_TIMEOUT_MS;
  const args = ['-c', file, ...(opts.args || [])];
  const proc = spawn(GYRE_BIN, args, {
    cwd: opts.cwd ?? dir,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(proc);

  let stderrText = '';
  let stdoutText = '';
  const logWaiters = new Set();
  const onOutput = () => {
    for (const w of logWaiters) w();
  };
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    stderrText += d;
    onOutput();
  });
  proc.stdout.setEncoding('utf8').on('data', (d) => {
    stdoutText += d;
    onOutput();
  });

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('close', (code, signal) => {
      exitInfo = { code, signal };
      onOutput();
      resolve(exitInfo);
    });
  });
  let spawnError = null;
  proc.once('error', (e) => {
    spawnError = e;
  });

  // A forgotten server must not keep the test process alive: the tracker
  // kills it on exit instead.
  proc.unref();
  proc.stdout.unref?.();
  proc.stderr.unref?.();

  const describe = () =>
    `gyre ${args.join(' ')}\nconfig: ${JSON.stringify(fullConfig)}\n--- stderr ---\n${stderrText}` +
    (stdoutText ? `\n--- stdout ---\n${stdoutText}` : '');

  // Wait for the port.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) {
      removeTempDir(dir);
      throw new Error(`failed to spawn ${GYRE_BIN}: ${spawnError.message}`);
    }
    if (exitInfo) {
      removeTempDir(dir);
      const err = new Error(
        `gyre exited before accepting connections (code ${exitInfo.code}, signal ${exitInfo.signal})\n${describe()}`,
      );
      err.addressInUse = /address (already )?in use|EADDRINUSE/i.test(stderrText);
      throw err;
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await keepAlive(exited);
      removeTempDir(dir);
      throw new Error(`gyre did not accept connections on port ${port} within ${timeoutMs} ms\n${describe()}`);
    }
    await sleep(50);
  }

  const url = `http://127.0.0.1:${port}`;

  let stopping = null;
  async function stop({ signal = 'SIGTERM', timeoutMs: stopTimeout = STOP_TIMEOUT_MS } = {}) {
    if (!stopping) {
      stopping = (async () => {
        if (!exitInfo) {
          proc.kill(signal);
          let timer;
          const timedOut = await Promise.race([
            exited.then(() => false),
            new Promise((r) => {
              timer = setTimeout(() => r(true), stopTimeout);
            }),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            proc.kill('SIGKILL');
            await keepAlive(exited);
          }
        }
        removeTempDir(dir);
        return exitInfo;
      })();
    }
    return stopping;
  }

  // POST <url>/api/<method> with a JSON body. opts.key: API key to send
  // (default "test-key"; null sends none). opts.headers override/extend.
  async function api(method, body = {}, { headers = {}, key = API_KEY } = {}) {
    const h = { 'Content-Type': 'application/json' };
    if (key !== null && key !== undefined) h['X-API-Key'] = key;
    Object.assign(h, headers);
    const res = await fetch(`${url}/api/${method}`, {
      method: 'POST',
      headers: h,
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  // Resolves with the first match of `re` in the collected stderr+stdout
  // (already there or still to come); rejects after timeoutMs.
  function waitForLog(re, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const m = (stderrText + stdoutText).match(re);
        if (m) {
          logWaiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        } else if (exitInfo) {
          logWaiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`gyre exited before logging ${re}\n${describe()}`));
        }
      };
      timer = setTimeout(() => {
        logWaiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log ${re}\n${describe()}`));
      }, timeoutMs);
      logWaiters.add(check);
      check();
    });
  }

  // Resolves {code, signal} when the process has exited; rejects after
  // timeoutMs (default 5 s). Use this rather than proc's own events: the
  // child is unref'd, so only this keeps the test process waiting for it.
  function waitExit(timeoutMs = STOP_TIMEOUT_MS) {
    let timer;
    return Promise.race([
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`gyre did not exit within ${timeoutMs} ms\n${describe()}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  return {
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}/connection/websocket`,
    config: fullConfig,
    configFile: file,
    dir,
    proc,
    api,
    stop,
    waitExit,
    waitForLog,
    stderr: () => stderrText,
    stdout: () => stdoutText,
  };
}

// Real Redis processes for the engine-redis tests.
//
//   const r = await startRedis();              // redis-server on a free loopback port
//   await r.cli('SET', 'k', 'v');              // RESP over a socket: 'OK'
//   await r.cli('PUBSUB', 'NUMSUB', 'x');      // ['x', 0]
//   await r.restart();                         // same port, empty data (no persistence)
//   await r.stop();
//
//   const s = await startSentinel(master);     // monitors `master` as "mymaster"
//   const c = await startCluster(3);           // 3 masters, cluster_state:ok
//
// Every process is tracked and SIGKILLed when this Node process exits
// (normally, on an uncaught error, or on SIGINT/SIGTERM/SIGHUP), and its temp
// dir removed, as lib/server.js does for gyre (which does not export its
// tracker, so this mirrors it).
//
// Replies of cli()/RespClient.call(): simple strings and bulk strings as JS
// strings (utf8; `{buffers: true}` gives Buffers for bulk strings), integers
// as numbers, arrays as arrays, nil as null. An error reply rejects with an
// Error whose `redisError` is true and whose message is the reply text.
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { deepMerge, startGyre } from './server.js';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const CALL_TIMEOUT_MS = 5_000;

export const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
export const REDIS_CLI = process.env.REDIS_CLI || 'redis-cli';

// ---------------------------------------------------------------------------
// Process tracking (same pattern as lib/server.js).

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

function makeTempDir(tag = 'redis') {
  installHooks();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gyre-test-${tag}-`));
  tempDirs.add(dir);
  return dir;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Awaits `p` while holding a ref'd timer (the children are unref'd).
async function keepAlive(p) {
  const t = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(t);
  }
}

// A TCP port that was free on 127.0.0.1 a moment ago.
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

// ---------------------------------------------------------------------------
// A minimal RESP2 client.

function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one reply from buf at pos. Returns {value, next} or null when
// incomplete.
function parseReply(buf, pos, buffers) {
  if (pos >= buf.length) return null;
  const type = String.fromCharCode(buf[pos]);
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-': {
      const e = new Error(line);
      e.redisError = true;
      return { value: e, next: after };
    }
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (after + n + 2 > buf.length) return null;
      const body = buf.subarray(after, after + n);
      return { value: buffers ? Buffer.from(body) : body.toString('utf8'), next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const out = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p, buffers);
        if (!r) return null;
        out.push(r.value);
        p = r.next;
      }
      return { value: out, next: p };
    }
    default:
      throw new Error(`bad RESP type byte ${JSON.stringify(type)} at ${pos}`);
  }
}

// One Redis connection. call(...args) sends a command and resolves with its
// reply. After subscribe()/psubscribe() the connection is in PUB/SUB mode:
// it emits 'message' (channel, payload) and 'pmessage' (pattern, channel,
// payload); subscribe() resolves once Redis confirmed every channel.
// Emits 'close' when the socket goes away (pending calls reject).
export class RespClient extends EventEmitter {
  constructor({ port, host = '127.0.0.1', buffers = false, password, timeoutMs = CALL_TIMEOUT_MS } = {}) {
    super();
    this.port = port;
    this.host = host;
    this.buffers = buffers;
    this.password = password;
    this.timeoutMs = timeoutMs;
    this.pending = [];
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.subWaiters = [];
  }

  static async connect(opts) {
    const c = new RespClient(opts);
    await c._open();
    if (opts.password) await c.call('AUTH', opts.password);
    return c;
  }

  _open() {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port: this.port, host: this.host });
      this.sock = s;
      s.setNoDelay(true);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to redis ${this.host}:${this.port} timed out`));
      }, this.timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on('error', () => {});
      s.on('data', (d) => this._onData(d));
      s.once('close', () => this._onClose());
    });
  }

  _onClose() {
    this.closed = true;
    const err = new Error(`redis connection to ${this.port} closed`);
    err.connectionClosed = true;
    for (const p of this.pending.splice(0)) p.reject(err);
    for (const w of this.subWaiters.splice(0)) w.reject(err);
    this.emit('close');
  }

  _onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    for (;;) {
      const r = parseReply(this.buf, pos, this.buffers);
      if (!r) break;
      pos = r.next;
      this._onReply(r.value);
    }
    this.buf = this.buf.subarray(pos);
  }

  _onReply(v) {
    const kind = Array.isArray(v) && v.length >= 3 ? String(v[0]) : '';
    if (this.subscribed && kind === 'message') return this.emit('message', String(v[1]), v[2]);
    if (this.subscribed && kind === 'pmessage') return this.emit('pmessage', String(v[1]), String(v[2]), v[3]);
    if (this.subscribed && /^(p?subscribe|p?unsubscribe)$/.test(kind)) {
      const w = this.subWaiters[0];
      if (w && --w.left <= 0) {
        this.subWaiters.shift();
        clearTimeout(w.timer);
        w.resolve(v[2]);
      }
      return;
    }
    const p = this.pending.shift();
    if (!p) return;
    clearTimeout(p.timer);
    if (v instanceof Error) p.reject(v);
    else p.resolve(v);
  }

  call(...args) {
    if (this.closed) return Promise.reject(Object.assign(new Error('redis connection closed'), { connectionClosed: true }));
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject };
      entry.timer = setTimeout(() => {
        const i = this.pending.indexOf(entry);
        if (i >= 0) this.pending.splice(i, 1);
        reject(new Error(`redis ${args.join(' ')} timed out after ${this.timeoutMs} ms`));
        this.close(); // replies would be out of step now
      }, this.timeoutMs);
      this.pending.push(entry);
      this.sock.write(encodeCommand(args));
    });
  }

  _subCmd(cmd, names) {
    if (this.closed) return Promise.reject(new Error('redis connection closed'));
    this.subscribed = true;
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, left: Math.max(1, names.length) };
      w.timer = setTimeout(() => reject(new Error(`redis ${cmd} timed out`)), this.timeoutMs);
      this.subWaiters.push(w);
      this.sock.write(encodeCommand([cmd, ...names]));
    });
  }

  subscribe(...channels) {
    return this._subCmd('SUBSCRIBE', channels);
  }

  psubscribe(...patterns) {
    return this._subCmd('PSUBSCRIBE', patterns);
  }

  close() {
    if (!this.closed) this.sock?.destroy();
  }
}

// One-shot: connect, run one command, close.
export async function redisCommand(port, ...args) {
  const c = await RespClient.connect({ port });
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

// Runs the redis-cli binary to completion: {code, stdout, stderr}.
export function runRedisCli(args, { timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(REDIS_CLI, args.map(String), { stdio: ['ignore', 'pipe', 'pipe'] });
    track(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`redis-cli ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function redisAvailable() {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

// ---------------------------------------------------------------------------
// redis-server processes

// Spawns one Redis process (server or sentinel) and waits until `ready()`
// resolves truthy. Returns a handle with stop/kill/restart.
//
//   makeArgs(port) -> argv for REDIS_SERVER
//   ready(handle)  -> Promise<boolean>, polled every 50 ms
async function spawnManaged({ port, dir, makeArgs, ready, label }) {
  let proc = null;
  let exitInfo = null;
  let exited = null;
  let logText = '';
  let client = null; // cached connection for cli()

  const handle = {
    port,
    host: '127.0.0.1',
    dir,
    url: `redis://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    log: () => logText,
    get proc() {
      return proc;
    },
    get running() {
      return !!proc && !exitInfo;
    },
  };

  async function launch() {
    exitInfo = null;
    const args = makeArgs(port);
    proc = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    track(proc);
    const p = proc;
    p.stdout.setEncoding('utf8').on('data', (d) => (logText += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (logText += d));
    exited = new Promise((resolve) => {
      p.once('close', (code, signal) => {
        if (proc === p) exitInfo = { code, signal };
        resolve({ code, signal });
      });
    });
    let spawnError = null;
    p.once('error', (e) => {
      spawnError = e;
    });
    p.unref();
    p.stdout.unref?.();
    p.stderr.unref?.();
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`failed to spawn ${REDIS_SERVER}: ${spawnError.message}`);
      if (exitInfo) {
        const err = new Error(
          `${label} on port ${port} exited before answering (code ${exitInfo.code}, signal ${exitInfo.signal})\n` +
            `${REDIS_SERVER} ${args.join(' ')}\n${logText}`,
        );
        err.addressInUse = /Address already in use|bind/i.test(logText);
        throw err;
      }
      try {
        if (await ready(handle)) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        await keepAlive(exited);
        throw new Error(`${label} on port ${port} did not become ready within ${START_TIMEOUT_MS} ms\n${logText}`);
      }
      await sleep(50);
    }
  }

  async function halt(signal) {
    client?.close();
    client = null;
    if (!proc || exitInfo) return exitInfo;
    const p = proc;
    p.kill(signal);
    let timer;
    const timedOut = await keepAlive(
      Promise.race([
        exited.then(() => false),
        new Promise((r) => {
          timer = setTimeout(() => r(true), STOP_TIMEOUT_MS);
        }),
      ]),
    );
    clearTimeout(timer);
    if (timedOut) {
      p.kill('SIGKILL');
      await keepAlive(exited);
    }
    return exitInfo;
  }

  // RESP over a cached socket; a new socket after the old one closed.
  handle.cli = async (...args) => {
    if (!client || client.closed) client = await RespClient.connect({ port });
    return client.call(...args);
  };
  // A fresh connection the caller owns (for SUBSCRIBE, MONITOR...).
  handle.connect = (opts = {}) => RespClient.connect({ port, ...opts });
  // SIGTERM (Redis shuts down cleanly; no persistence, so data is gone).
  handle.stop = () => halt('SIGTERM');
  // SIGKILL.
  handle.kill = () => halt('SIGKILL');
  // Stop (if running) and start again on the same port.
  handle.restart = async () => {
    await halt('SIGTERM');
    await launch();
  };
  // Start again after stop()/kill() (same port).
  handle.start = async () => {
    if (handle.running) return;
    await launch();
  };
  handle.pid = () => proc?.pid;
  handle.waitExit = (timeoutMs = STOP_TIMEOUT_MS) => {
    let timer;
    return keepAlive(
      Promise.race([
        exited,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${label} did not exit within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer)),
    );
  };

  await launch();
  return handle;
}

async function pingReady(h) {
  const r = await redisCommand(h.port, 'PING');
  return r === 'PONG';
}

// Starts redis-server on a free loopback port (or opts.port) with no
// persistence in a fresh temp dir, and waits until PING answers.
//
// opts:
//   port        fixed port (default: a free one, re-picked if taken meanwhile)
//   args        extra redis-server arguments (['--maxmemory', '10mb'])
//   replicaOf   {port} of a master: start as its replica
//   password    requirepass (cli() then does not work: use connect({password}))
//
// Returns {port, url, address, cli(...args), connect(), stop(), kill(),
// restart(), start(), waitExit(), log(), dir, proc, running}.
export async function startRedis(opts = {}) {
  const attempts = opts.port ? 1 : 3;
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    const port = opts.port ?? (await freePort());
    const dir = makeTempDir('redis');
    try {
      return await spawnManaged({
        port,
        dir,
        label: 'redis-server',
        makeArgs: (p) => [
          '--port',
          String(p),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--logfile',
          '',
          ...(opts.replicaOf ? ['--replicaof', '127.0.0.1', String(opts.replicaOf.port)] : []),
          ...(opts.password ? ['--requirepass', opts.password] : []),
          ...(opts.args || []),
        ],
        ready: opts.password
          ? async (h) => {
              const c = await RespClient.connect({ port: h.port, password: opts.password });
              try {
                return (await c.call('PING')) === 'PONG';
              } finally {
                c.close();
              }
            }
          : pingReady,
      });
    } catch (e) {
      lastErr = e;
      if (!e.addressInUse) throw e;
    }
  }
  throw lastErr;
}

// Starts a Redis Sentinel monitoring `master` (a startRedis() handle) under
// the name "mymaster", quorum 1, down-after 1000 ms, failover-timeout 3000 ms,
// and waits until it knows the master.
//
// opts: {downAfterMs, failoverTimeoutMs, port}
// Returns the same kind of handle as startRedis, plus
//   masterName            'mymaster'
//   url                   'redis+sentinel://127.0.0.1:<port>?sentinel_master_name=mymaster'
//   masterAddr()          [host, port] the sentinel reports now
//   failover()            SENTINEL FAILOVER mymaster
//   waitMaster(pred, ms)  polls masterAddr() until pred([host, port])
export async function startSentinel(master, opts = {}) {
  const masterName = 'mymaster';
  const port = opts.port ?? (await freePort());
  const dir = makeTempDir('sentinel');
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${masterName} ${opts.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n'),
  );
  const h = await spawnManaged({
    port,
    dir,
    label: 'redis-sentinel',
    // redis-server in sentinel mode (Debian ships redis-sentinel separately).
    makeArgs: () => [conf, '--sentinel'],
    ready: async (hh) => {
      const r = await redisCommand(hh.port, 'SENTINEL', 'get-master-addr-by-name', masterName);
      return Array.isArray(r) && Number(r[1]) === master.port;
    },
  });
  h.masterName = masterName;
  h.url = `redis+sentinel://127.0.0.1:${port}?sentinel_master_name=${masterName}`;
  h.masterAddr = async () => {
    const r = await h.cli('SENTINEL', 'get-master-addr-by-name', masterName);
    return [r[0], Number(r[1])];
  };
  h.failover = () => h.cli('SENTINEL', 'FAILOVER', masterName);
  h.waitMaster = async (pred, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const a = await h.masterAddr();
        if (pred(a)) return a;
      } catch {
        // retry
      }
      if (Date.now() > deadline) throw new Error(`sentinel: master condition not met within ${timeoutMs} ms`);
      await sleep(100);
    }
  };
  return h;
}

// Starts an n-master Redis Cluster (no replicas) on free loopback ports and
// waits until every node reports cluster_state:ok.
// Returns {nodes: [handles], ports, url ('redis+cluster://...' with every
// address), addresses, cli(...args) (first node), nodeForSlot(slot),
// keyslot(key), stop(), kill()}.
export async function startCluster(n = 3, opts = {}) {
  const nodes = [];
  try {
    for (let i = 0; i < n; i++) {
      const busPort = await freePort();
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(opts.nodeTimeoutMs ?? 2000),
            '--cluster-port',
            String(busPort),
            ...(opts.args || []),
          ],
        }),
      );
    }
    const addrs = nodes.map((r) => `127.0.0.1:${r.port}`);
    const res = await runRedisCli(['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes']);
    if (res.code !== 0) throw new Error(`redis-cli --cluster create failed (${res.code})\n${res.stdout}\n${res.stderr}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(nodes.map((r) => r.cli('CLUSTER', 'INFO').catch(() => '')));
      if (infos.every((t) => /cluster_state:ok/.test(t))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok within 20 s:\n${infos.join('\n')}`);
      await sleep(100);
    }
  } catch (e) {
    await Promise.all(nodes.map((r) => r.kill()));
    throw e;
  }
  const ports = nodes.map((r) => r.port);
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const cluster = {
    nodes,
    ports,
    addresses,
    // Centrifugo v6 form: redis+cluster://host:port?addr=host:port&addr=...
    url: `redis+cluster://${addresses[0]}` + (addresses.length > 1 ? `?${addresses.slice(1).map((a) => `addr=${a}`).join('&')}` : ''),
    cli: (...args) => nodes[0].cli(...args),
    keyslot: async (key) => Number(await nodes[0].cli('CLUSTER', 'KEYSLOT', key)),
    // The handle of the master serving `slot`.
    nodeForSlot: async (slot) => {
      const slots = await nodes[0].cli('CLUSTER', 'SLOTS');
      for (const [from, to, master] of slots) {
        if (slot >= from && slot <= to) return nodes.find((r) => r.port === Number(master[1]));
      }
      return null;
    },
    stop: () => Promise.all(nodes.map((r) => r.stop())),
    kill: () => Promise.all(nodes.map((r) => r.kill())),
  };
  return cluster;
}

// ---------------------------------------------------------------------------
// Channel -> shard, as engine-redis must compute it (spec redis-engine.md
// §7.1): jump consistent hash of FNV-1a-64 of the channel name.

export function fnv1a64(str) {
  let h = 14695981039346656037n;
  for (const b of Buffer.from(str)) {
    h ^= BigInt(b);
    h = (h * 1099511628211n) & 0xffffffffffffffffn;
  }
  return h;
}

export function jumpHash(key, buckets) {
  let b = -1n;
  let j = 0n;
  const n = BigInt(buckets);
  while (j < n) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
    j = BigInt(Math.floor(Number(b + 1n) * (2 ** 31 / (Number(key >> 33n) + 1))));
  }
  return Number(b);
}

export const shardOf = (channel, n) => jumpHash(fnv1a64(channel), n);

// ---------------------------------------------------------------------------
// Gyre nodes on Redis (for redis_*.test.js and e2e_three_nodes.test.js).

let prefixSeq = 0;

// A key prefix no other server of this test process uses.
export function uniquePrefix(tag = 'g') {
  prefixSeq += 1;
  return `${tag}${process.pid}x${prefixSeq}`;
}

// {engine: {type: 'redis', redis: {address, prefix, ...redis}}}; `address`
// is a handle, a URL, or an array of them (shards).
export function redisEngine(address, redis = {}) {
  const one = (a) => (typeof a === 'string' ? a : a.url);
  return {
    engine: {
      type: 'redis',
      redis: { address: Array.isArray(address) ? address.map(one) : one(address), ...redis },
    },
  };
}

// Starts `n` gyre nodes sharing one Redis setup and key prefix, each with
// `config` (deep-merged over the engine section), and stops them when the
// test ends. Returns the gyre handles. opts: {prefix, redis (engine.redis
// extras), perNode(i) -> extra config}.
export async function startNodes(t, n, address, config = {}, opts = {}) {
  const prefix = opts.prefix ?? uniquePrefix();
  const nodes = [];
  t.after(async () => {
    await Promise.all(nodes.map((g) => g.stop()));
  });
  for (let i = 0; i < n; i++) {
    let cfg = deepMerge(redisEngine(address, { prefix, ...(opts.redis || {}) }), config);
    if (opts.perNode) cfg = deepMerge(cfg, opts.perNode(i));
    const g = await startGyre(cfg);
    g.prefix = prefix;
    nodes.push(g);
  }
  nodes.prefix = prefix;
  return nodes;
}

// Redis key and PUB/SUB channel names of engine-redis (spec §3, standalone).
export function keysOf(prefix, channel) {
  return {
    stream: `${prefix}.stream.${channel}`,
    meta: `${prefix}.stream.meta.${channel}`,
    result: (key) => `${prefix}.result.${channel}.${key}`,
    presenceData: `${prefix}.presence.data.${channel}`,
    presenceExpire: `${prefix}.presence.expire.${channel}`,
    pubsub: `${prefix}.client.${channel}`,
  };
}

// HGETALL reply (flat array) -> object.
export function hashToObject(flat) {
  const o = {};
  for (let i = 0; flat && i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

// All keys matching `pattern` on handle `r` (SCAN, sorted).
export async function scanKeys(r, pattern) {
  const out = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.cli('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(out)].sort();
}

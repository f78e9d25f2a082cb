// Broadcast fan-out benchmark: N WebSocket subscribers on one channel, a
// publisher posting through the HTTP API at a fixed rate. Reports server CPU
// per delivery (from /proc/<pid>/stat, the server process alone), deliveries
// per second, loss, and server RSS per connection.
//
//   node bench/fanout.mjs [--subs 2000] [--rate 20] [--seconds 10] [--payload 128]
//
// It starts build/gyre itself on a free loopback port. The load generator is
// Node, so on a 2-core machine it competes with the server for CPU: treat the
// CPU-per-delivery figure as the meaningful one.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../tests/node/package.json'));
const WebSocket = require('ws');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const SUBS = Number(args.subs ?? 2000);
const RATE = Number(args.rate ?? 20);
const SECONDS = Number(args.seconds ?? 10);
const PAYLOAD = Number(args.payload ?? 128);
const BIN = process.env.GYRE_BIN ?? join(here, '../build/gyre');

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);  // utime + stime
}
function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return Number(m[1]);
}
const HZ = 100;

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'gyre-bench-'));
const cfg = join(dir, 'config.json');
writeFileSync(cfg, JSON.stringify({
  http_server: { address: '127.0.0.1', port },
  http_api: { key: 'bench' },
  log: { level: 'error' },
  client: { insecure: true, ping_interval: '25s', queue_max_size: 10485760 },
}));
const server = spawn(BIN, ['-c', cfg], { stdio: ['ignore', 'inherit', 'inherit'] });
process.on('exit', () => server.kill('SIGKILL'));
await new Promise((r) => setTimeout(r, 300));

const rssBase = rssKb(server.pid);
let delivered = 0;
const sockets = [];
const t0 = Date.now();
const cpuConnect0 = cpuTicks(server.pid);
for (let i = 0; i < SUBS; i += 100) {
  const batch = [];
  for (let k = i; k < Math.min(SUBS, i + 100); k++) {
    batch.push(new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/connection/websocket`);
      let ready = false;
      ws.on('message', (m) => {
        const text = m.toString();
        if (!ready) {
          if (text.includes('"id":2')) { ready = true; resolve(); }
          return;
        }
        delivered += text.split('\n').length;
      });
      ws.on('error', reject);
      ws.on('open', () => ws.send('{"connect":{"name":"bench"},"id":1}\n{"subscribe":{"channel":"bench"},"id":2}'));
      sockets.push(ws);
    }));
  }
  await Promise.all(batch);
}
const cpuConnect = (cpuTicks(server.pid) - cpuConnect0) / HZ;
console.log(`connected ${SUBS} subscribers in ${Date.now() - t0} ms; server CPU ${(cpuConnect * 1e6 / SUBS).toFixed(0)} µs per connection`);
await new Promise((r) => setTimeout(r, 1000));
const rssConn = rssKb(server.pid);
console.log(`server RSS ${rssConn} KB, ${((rssConn - rssBase) / SUBS).toFixed(2)} KB per connection`);

const data = { p: 'x'.repeat(Math.max(0, PAYLOAD - 8)) };
const body = JSON.stringify({ channel: 'bench', data });
const total = RATE * SECONDS;
const cpu0 = cpuTicks(server.pid);
const start = Date.now();
let sent = 0;
await new Promise((resolve) => {
  const timer = setInterval(async () => {
    if (sent >= total) { clearInterval(timer); resolve(); return; }
    sent++;
    fetch(`http://127.0.0.1:${port}/api/publish`, { method: 'POST', headers: { 'X-API-Key': 'bench' }, body }).catch(() => {});
  }, 1000 / RATE);
});
const expected = total * SUBS;
const deadline = Date.now() + 30000;
while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
const elapsed = (Date.now() - start) / 1000;
const cpu = (cpuTicks(server.pid) - cpu0) / HZ;
console.log(`published ${total} × ${PAYLOAD} B to ${SUBS} subscribers: delivered ${delivered}/${expected} ` +
  `(${(delivered / elapsed).toFixed(0)}/s over ${elapsed.toFixed(1)} s)`);
console.log(`server CPU ${cpu.toFixed(2)} s = ${(cpu * 1e6 / Math.max(1, delivered)).toFixed(2)} µs per delivery`);
for (const ws of sockets) ws.terminate();
server.kill('SIGTERM');
process.exit(delivered === expected ? 0 : 1);

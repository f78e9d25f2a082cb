// Running out of file descriptors must not make the server spin or stop
// serving: it pauses accepting and resumes once descriptors free up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startGyre } from './lib/server.js';

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}

function openSocket(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    setTimeout(() => resolve(s), 1000);
  });
}

test('at the descriptor limit the server neither spins nor stops serving', async (t) => {
  const server = await startGyre({ client: { insecure: true } });
  t.after(() => server.stop());
  const pid = server.proc.pid;
  execFileSync('prlimit', ['--pid', String(pid), '--nofile=48:48']);

  const sockets = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 80; i++) sockets.push(await openSocket(server.port));
  await new Promise((r) => setTimeout(r, 300));

  const before = cpuTicks(pid);
  await new Promise((r) => setTimeout(r, 1000));
  const used = cpuTicks(pid) - before;
  // A listener re-reported by epoll on every turn would burn the whole second
  // (100 ticks); pausing keeps it near zero.
  assert.ok(used < 30, `server used ${used} ticks of CPU in 1 s at the descriptor limit`);
  assert.match(server.stderr(), /out of file descriptors/);

  sockets.forEach((s) => s.destroy());
  sockets.length = 0;
  const deadline = Date.now() + 5000;
  let res;
  while (Date.now() < deadline) {
    try {
      res = await server.api('info', {});
      if (res.status === 200) break;
    } catch {
      // still at the limit: retry
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(res?.status, 200);
  assert.equal(res.json.result.nodes[0].num_clients, 0);
});

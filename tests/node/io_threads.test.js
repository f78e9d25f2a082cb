// Large fan-outs are written by I/O helper threads (node.io_threads): every
// subscriber must still get every publication once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGyre } from './lib/server.js';
import { WebSocket } from './lib/client.js';

function subscriber(wsUrl, channel) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const got = [];
    let ready = false;
    ws.on('error', reject);
    ws.on('message', (m) => {
      for (const line of m.toString().split('\n')) {
        const msg = JSON.parse(line);
        if (msg.id === 2) {
          ready = true;
          resolve({ ws, got });
        } else if (ready && msg.push?.pub) {
          got.push(msg.push.pub.data.n);
        }
      }
    });
    ws.on('open', () =>
      ws.send(`{"connect":{"name":"t"},"id":1}\n{"subscribe":{"channel":"${channel}"},"id":2}`),
    );
  });
}

for (const helpers of [0, 3]) {
  test(`600 subscribers get 30 publications in order with node.io_threads=${helpers}`, async (t) => {
    const server = await startGyre({ client: { insecure: true }, node: { io_threads: helpers } });
    t.after(() => server.stop());
    const subs = [];
    t.after(() => subs.forEach((s) => s.ws.terminate()));
    for (let i = 0; i < 600; i += 100) {
      subs.push(...(await Promise.all(Array.from({ length: 100 }, () => subscriber(server.wsUrl, 'news')))));
    }
    for (let n = 1; n <= 30; n++) {
      const r = await server.api('publish', { channel: 'news', data: { n } });
      assert.equal(r.status, 200);
    }
    const expected = Array.from({ length: 30 }, (_, k) => k + 1);
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && subs.some((s) => s.got.length < 30)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of subs) assert.deepEqual(s.got, expected);
  });
}

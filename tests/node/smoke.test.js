// Smoke test: the server starts, the HTTP API answers, and the centrifuge
// SDK connects over WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startGyre } from './lib/server.js';
import { newCentrifuge, waitFor } from './lib/client.js';

test('gyre starts, answers /api/info and accepts an SDK client', async (t) => {
  const gyre = await startGyre({ client: { insecure: true } });
  t.after(() => gyre.stop());

  const info = await gyre.api('info', {});
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json?.result?.nodes?.[0]?.num_clients, 0, info.text);

  const client = newCentrifuge(gyre.wsUrl);
  t.after(() => client.disconnect());
  const connected = waitFor(client, 'connected', 5000);
  client.connect();
  const ctx = await connected;
  assert.equal(typeof ctx.client, 'string');
  assert.ok(ctx.client.length > 0, 'client id is empty');

  client.disconnect();
  const exit = await gyre.stop();
  assert.ok(exit, 'gyre did not report an exit');
});

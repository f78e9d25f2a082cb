#!/usr/bin/env node
// Round trips through the RPC proxy: SDK clients call rpc, gyre calls a
// backend (node:http or node:https with the test CA of tests/fixtures/tls),
// for http:// and https:// endpoints in turn. Reports the mean time of a
// sequential call from one client and the calls/s of many clients at once;
// the figure that matters is https against http (the TLS path's own cost).
//
//   node bench/proxy/rpc_proxy.mjs [--calls 2000] [--clients 20] [--rounds 2]
//
// Needs build/gyre (or GYRE_BIN) and tests/node's npm packages (make node-deps).
// The backend runs in this same Node process: on 2 cores, calls/s is bounded
// by Node as much as by gyre.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT, startGyre } from '../../tests/node/lib/server.js';
import { newCentrifuge, waitFor } from '../../tests/node/lib/client.js';
import { startBackend } from '../../tests/node/lib/backend.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('calls', 2000);
const CLIENTS = arg('clients', 20);
const ROUNDS = arg('rounds', 2);

const F = path.join(REPO_ROOT, 'tests', 'fixtures', 'tls');
const serverTls = { key: fs.readFileSync(path.join(F, 'server.key')), cert: fs.readFileSync(path.join(F, 'server.pem')) };

async function run(scheme) {
  const https = scheme === 'https';
  const b = await startBackend(() => ({ json: { result: { data: { ok: 1 } } } }), https ? { tls: serverTls } : {});
  const endpoint = { endpoint: b.url('/rpc'), timeout: '2s' };
  if (https) endpoint.http = { tls: { enabled: true, server_ca_pem: path.join(F, 'ca.pem') } };
  const g = await startGyre({
    log: { level: 'error' },
    client: { allow_anonymous_connect_without_token: true },
    rpc: { proxy: endpoint, without_namespace: { proxy_enabled: true } },
  });
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = newCentrifuge(g.wsUrl);
    const ok = waitFor(c, 'connected');
    c.connect();
    await ok;
    clients.push(c);
  }
  for (let i = 0; i < 200; i++) await clients[0].rpc('warmup', {});
  let t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await clients[0].rpc('m', {});
  const sequentialMs = (performance.now() - t0) / CALLS;
  const each = Math.ceil(CALLS / CLIENTS) * 2;
  t0 = performance.now();
  await Promise.all(clients.map(async (c) => {
    for (let i = 0; i < each; i++) await c.rpc('m', {});
  }));
  const perSecond = (each * CLIENTS) / ((performance.now() - t0) / 1000);
  const out = { scheme, sequential_ms: +sequentialMs.toFixed(3), concurrent_calls_per_s: Math.round(perSecond), backend_connections: b.connections };
  for (const c of clients) c.disconnect();
  await g.stop();
  await b.close();
  return out;
}

const results = [];
for (let r = 0; r < ROUNDS; r++) for (const scheme of ['http', 'https']) results.push(await run(scheme));
for (const x of results)
  console.error(`${x.scheme.padEnd(5)} sequential ${x.sequential_ms} ms/call, ${CLIENTS} clients ${x.concurrent_calls_per_s} calls/s, ${x.backend_connections} backend connections`);
console.log(JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, calls: CALLS, clients: CLIENTS, results }));
process.exit(0);

// Helpers for the plugin loader tests (plugins.test.js, plugin_kinds.test.js):
// where the test plugins are, and how a startup that must fail is checked.
//
// The test plugins are built into <build>/test-plugins (CTest passes the
// directory as GYRE_TEST_PLUGIN_DIR; otherwise it is found next to GYRE_BIN).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { API_KEY, GYRE_BIN, REPO_ROOT, deepMerge, freePort, runGyre, writeTempConfig } from './server.js';

export const PLUGIN_DIR = path.resolve(
  process.env.GYRE_TEST_PLUGIN_DIR || path.join(path.dirname(path.resolve(GYRE_BIN)), 'test-plugins'),
);
// Where the real plugins are (the server's default plugins.dir in a build tree).
export const REAL_PLUGIN_DIR = path.join(path.dirname(path.resolve(GYRE_BIN)), 'plugins');

export const plugin = (file) => path.join(PLUGIN_DIR, file);

// The ABI version the server was built with, from the very header it includes.
export function abiVersion() {
  const h = fs.readFileSync(path.join(REPO_ROOT, 'sdk', 'include', 'gyre', 'plugin.h'), 'utf8');
  const major = Number(h.match(/#define GYRE_ABI_MAJOR (\d+)/)[1]);
  const minor = Number(h.match(/#define GYRE_ABI_MINOR (\d+)/)[1]);
  return { major, minor };
}

const tempDirs = [];
export function tempDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gyre-plugins-'));
  tempDirs.push(d);
  return d;
}

export function removeTempDirs() {
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', removeTempDirs); // also when the runner exits early

const START_FAIL_BUDGET_MS = 3000;

// Runs the server with `config` over a base config (127.0.0.1, a free port,
// the test API key) and expects it to stop on its own, promptly and non-zero.
// Returns {code, signal, stdout, stderr, elapsed}.
export async function expectStartupFailure(config) {
  const port = await freePort();
  const full = deepMerge(
    { http_server: { address: '127.0.0.1', port }, http_api: { key: API_KEY }, log: { level: 'debug' } },
    config,
  );
  const { dir, file } = writeTempConfig(full);
  tempDirs.push(dir);
  const t0 = Date.now();
  // A server that wrongly starts never exits: runGyre then rejects after
  // the timeout (and kills it), which fails the test.
  const r = await runGyre(['-c', file], { timeoutMs: 5000, cwd: dir });
  const elapsed = Date.now() - t0;
  const out = `config: ${JSON.stringify(config)}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
  assert.equal(r.signal, null, `gyre died of a signal\n${out}`);
  assert.notEqual(r.code, 0, `gyre exited 0 although startup should have failed\n${out}`);
  assert.equal(r.code, 1, `startup failure should exit with code 1\n${out}`);
  assert.ok(elapsed < START_FAIL_BUDGET_MS, `gyre took ${elapsed} ms to give up\n${out}`);
  return { ...r, elapsed, out };
}

// The first ERROR line of `text` that contains every needle (strings or
// regexps); fails the test with the whole output otherwise.
export function errorLine(r, ...needles) {
  const lines = r.stderr.split('\n').filter((l) => /\bERROR\b/.test(l));
  const has = (l, n) => (n instanceof RegExp ? n.test(l) : l.includes(n));
  const line = lines.find((l) => needles.every((n) => has(l, n)));
  assert.ok(
    line,
    `expected an ERROR line mentioning ${needles.map(String).join(' + ')}\n${r.out}`,
  );
  return line;
}

export const load = (...entries) => ({ plugins: { load: entries } });

// `gyre plugins`: the same loading rules, without starting a server.
export async function listPlugins(config) {
  const { dir, file } = writeTempConfig(config);
  tempDirs.push(dir);
  const r = await runGyre(['plugins', '-c', file], { timeoutMs: 5000, cwd: dir });
  return { ...r, out: `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}` };
}


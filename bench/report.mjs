// Turns one suite run (build/bench-runs/<stamp>/: <scenario>-<server>.json
// from gyre-loadgen, .meta from run_suite.sh, .server.log) into
// latest.json and latest.md. Called by bench/run_suite.sh; Node only, no
// dependencies.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const runsDir = args.runs;
const outDir = args.out;
const scenarios = (args.scenarios ?? 'idle broadcast groups churn').split(/\s+/).filter(Boolean);
const servers = ['gyre', 'anchor'];

function sh(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function readMeta(file) {
  const meta = {};
  if (!fs.existsSync(file)) return meta;
  for (const kv of fs.readFileSync(file, 'utf8').trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    if (k) meta[k] = Number.isNaN(Number(v)) ? v : Number(v);
  }
  return meta;
}

function readRun(scenario, server) {
  const base = path.join(runsDir, `${scenario}-${server}`);
  if (!fs.existsSync(`${base}.meta`)) return null;
  const run = { meta: readMeta(`${base}.meta`) };
  try {
    run.result = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
  } catch (e) {
    run.result = null;
    run.loadgen_error = `no JSON from gyre-loadgen (${e.message})`;
  }
  const err = fs.existsSync(`${base}.err`) ? fs.readFileSync(`${base}.err`, 'utf8') : '';
  run.loadgen_problems = err.split('\n').filter((l) => /problems|only|exited early|cannot|no server/.test(l));
  const log = fs.existsSync(`${base}.server.log`) ? fs.readFileSync(`${base}.server.log`, 'utf8') : '';
  // The anchor always logs its start and exit lines; those are not problems.
  const lines = log
    .split('\n')
    .filter((l) => l && !/centrifuge-anchor listening on|\bbye$/.test(l));
  run.server_log = { lines: lines.length, first: lines.slice(0, 5), last: lines.slice(-3) };
  return run;
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cpus = os.cpus();
const commit = sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']) ? '+dirty' : '';
const goVersion = (args['anchor-status'] ?? '').match(/go version (go[\d.]+)/)?.[1] ?? null;
const report = {
  generated: new Date().toISOString(),
  command: args.command,
  scale: Number(args.scale ?? 1),
  publish_seconds: Number(args.seconds ?? 10),
  machine: {
    nproc: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    fd_limit: sh('bash', ['-c', 'ulimit -Hn']),
  },
  gyre: { version: sh(path.join(root, 'build', 'gyre'), ['version']), commit: commit + dirty },
  anchor: {
    status: args['anchor-status'],
    gomaxprocs: Number(args['anchor-procs'] ?? 1),
    go: goVersion,
    library: 'github.com/centrifugal/centrifuge 0.15.0 (Debian), protocol v1',
  },
  runs: {},
};
for (const s of scenarios) {
  report.runs[s] = {};
  for (const srv of servers) {
    const run = readRun(s, srv);
    if (run) report.runs[s][srv] = run;
  }
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');

// ---- Markdown ----
const r = (s, srv) => report.runs[s]?.[srv]?.result ?? null;
const fmt = (v, digits = 1) =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
const kfmt = (v) =>
  v === null || v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${Math.round(v)}`;
const lat = (x) =>
  x?.latency_ms ? `${fmt(x.latency_ms.p50, 2)} / ${fmt(x.latency_ms.p99, 2)} / ${fmt(x.latency_ms.p999, 2)} ms` : '—';
const loss = (x) => (x?.deliveries ? `${x.deliveries.lost} / ${x.deliveries.dupes}` : '—');
const delivered = (x) =>
  x?.deliveries
    ? `${kfmt(x.deliveries.per_sec)}/s of ${kfmt(x.deliveries.offered_per_sec)}/s` +
      (x.deliveries.drain_s > 1.5 && x.params.reconnect_rate === 0 ? ` (backlog drained ${fmt(x.deliveries.drain_s, 1)} s after the last publish)` : '')
    : '—';
const cpuDel = (x) => (x?.run ? `${fmt(x.run.server_cpu_us_per_delivery, 2)} µs` : '—');
const check = (v, ok) => (v === null || v === undefined ? '' : ok(v) ? ' ✓' : ' ✗');

// [scenario, label, gyre/anchor cell, target text, target test on gyre value]
const rows = [
  ['idle', 'Server RSS per idle connection (1 subscription)', (x) => (x ? `${fmt(x.server.rss_kb_per_conn, 2)} KB` : '—'), '≤ 1.5 KB', (x) => x?.server.rss_kb_per_conn, (v) => v <= 1.5],
  ['idle', 'Server CPU per connection (upgrade + connect + subscribe)', (x) => (x ? `${fmt(x.connect.server_cpu_us_per_conn)} µs` : '—'), '≤ 30 µs', (x) => x?.connect.server_cpu_us_per_conn, (v) => v <= 30],
  ['idle', 'New connections per second', (x) => (x ? kfmt(x.connect.per_sec) : '—'), '≥ 15k', (x) => x?.connect.per_sec, (v) => v >= 15000],
  ['broadcast', 'Server CPU per delivery', cpuDel, '≤ 2.0 µs', (x) => x?.run?.server_cpu_us_per_delivery, (v) => v <= 2.0],
  ['broadcast', 'Delivered', delivered, 'all offered', null, null],
  ['broadcast', 'Latency p50 / p99 / p99.9', lat, '', null, null],
  ['broadcast', 'Lost / duplicates', loss, '0 / 0', (x) => (x?.deliveries ? x.deliveries.lost + x.deliveries.dupes : null), (v) => v === 0],
  ['groups', 'Server CPU per delivery', cpuDel, '≤ 6 µs', (x) => x?.run?.server_cpu_us_per_delivery, (v) => v <= 6],
  ['groups', 'Delivered', delivered, '', null, null],
  ['groups', 'Latency p50 / p99 / p99.9', lat, 'p99 ≤ 5 ms', (x) => x?.latency_ms?.p99, (v) => v <= 5],
  ['groups', 'Lost / duplicates', loss, '0 / 0', (x) => (x?.deliveries ? x.deliveries.lost + x.deliveries.dupes : null), (v) => v === 0],
  ['churn', 'Server CPU per delivery (connects included)', cpuDel, '≤ 15 µs', (x) => x?.run?.server_cpu_us_per_delivery, (v) => v <= 15],
  ['churn', 'Reconnects done', (x) => (x?.run ? `${x.run.connects_during_run} (${fmt(x.run.connects_during_run / x.params.duration_s, 0)}/s)` : '—'), '', null, null],
  ['churn', 'Latency p50 / p99 / p99.9', lat, '', null, null],
  ['churn', 'Lost / duplicates', loss, '0 / 0', (x) => (x?.deliveries ? x.deliveries.lost + x.deliveries.dupes : null), (v) => v === 0],
];

const scenarioTitle = (s) => {
  const x = r(s, 'gyre') ?? r(s, 'anchor');
  if (!x) return s;
  const p = x.params;
  if (s === 'idle') return `idle: ${p.conns} connections, one channel each`;
  const per = Math.round(p.conns / p.channels);
  const churn = p.reconnect_rate ? `, ${p.reconnect_rate} reconnects/s` : '';
  return `${s}: ${p.conns} connections, ${p.channels} channel${p.channels > 1 ? 's' : ''} of ${per}, ${p.rate} publishes/s for ${p.duration_s} s${churn}`;
};

const m = report.machine;
const md = [];
md.push('# Gyre benchmark: latest run', '');
md.push(`Generated ${report.generated} by \`${report.command}\`.`, '');
md.push(`Machine: ${m.nproc} × ${m.cpu_model}, ${m.memory_gib} GiB, ${m.kernel}, descriptor limit ${m.fd_limit}.`);
const threads = (srv) => {
  const x = scenarios.map((s) => r(s, srv)).find(Boolean);
  return x ? `${x.server.threads} OS thread${x.server.threads === 1 ? '' : 's'}` : 'not run';
};
md.push(`Gyre: ${report.gyre.version} (commit ${report.gyre.commit}), ${threads('gyre')}.`);
md.push(`Anchor: ${report.anchor.library}, ${report.anchor.go ?? 'Go ?'}, GOMAXPROCS=${report.anchor.gomaxprocs} (${threads('anchor')})` +
  (report.anchor.status && !report.anchor.status.startsWith('built') ? ` — **${report.anchor.status}**` : '') + '.');
md.push(`Scale ${report.scale}; load generator: bench/loadgen (C, epoll, WebSocket on loopback, 128-byte payloads, HTTP publishes); every server restarted before every scenario.`, '');
md.push('| Scenario | Metric | Gyre | Go anchor | Target (issue 3) |', '|---|---|---|---|---|');
let last = '';
for (const [s, label, cell, target, val, ok] of rows) {
  if (!scenarios.includes(s)) continue;
  const g = r(s, 'gyre');
  const a = r(s, 'anchor');
  const title = s === last ? '' : scenarioTitle(s);
  last = s;
  const mark = val && g ? check(val(g), ok) : '';
  md.push(`| ${title} | ${label} | ${g ? cell(g) : '—'}${mark} | ${a ? cell(a) : '—'} | ${target} |`);
}
md.push('');
md.push('CPU is the server process alone (utime + stime from /proc/<pid>/stat); on 2 cores the load generator competes with the server, so latencies and delivered/s above ~50k/s are partly the load generator\'s; CPU per delivery is the fair figure. See docs/performance.md.', '');

// Every run in detail, and anything that went wrong.
md.push('## All runs', '');
md.push('| Run | Connect/s | CPU/conn | RSS/conn | Delivered | Lost | Dupes | Server CPU | Loadgen CPU | Server closes | Errors | Server exit |');
md.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
const problems = [];
for (const s of scenarios) {
  for (const srv of servers) {
    const run = report.runs[s]?.[srv];
    if (!run) continue;
    const x = run.result;
    const e = x?.errors ?? {};
    md.push(
      `| ${s} / ${srv} | ${x ? kfmt(x.connect.per_sec) : '—'} | ${x ? fmt(x.connect.server_cpu_us_per_conn) + ' µs' : '—'} | ` +
        `${x ? fmt(x.server.rss_kb_per_conn, 2) + ' KB' : '—'} | ${x?.deliveries ? x.deliveries.delivered : '—'} | ` +
        `${x?.deliveries?.lost ?? '—'} | ${x?.deliveries?.dupes ?? '—'} | ${x?.run ? fmt(x.run.server_cpu_s, 2) + ' s' : '—'} | ` +
        `${x ? fmt(x.loadgen_cpu_s, 2) + ' s' : '—'} | ${e.server_closes ?? '—'} | ` +
        `${x ? e.connect_errors + e.protocol_errors + e.publish_errors : '—'} | ${run.meta.exit ?? '—'} |`,
    );
    const why = [];
    if (run.meta.start_failed) why.push('server did not start');
    if (run.meta.alive === 0) why.push('server died during the run');
    if (run.loadgen_error) why.push(run.loadgen_error);
    if (x && !x.ok) why.push(`loadgen: ${[e.first, e.first_publish].filter(Boolean).join('; ') || 'see counters'}${x.deliveries && !x.deliveries.drained ? ' (deliveries not drained)' : ''}`);
    if (run.meta.exit !== undefined && run.meta.exit !== 0) why.push(`server exit status ${run.meta.exit} after SIGTERM`);
    if (run.server_log.lines) why.push(`${run.server_log.lines} server log line(s) at level error, e.g. \`${run.server_log.first[0].slice(0, 200)}\``);
    if (why.length) problems.push(`- ${s} / ${srv}: ${why.join('; ')}`);
  }
}
md.push('');
md.push('## Problems seen', '');
md.push(...(problems.length ? problems : ['None: no loss, duplicate, disconnect, error or server log line in any run.']));
md.push('');
fs.writeFileSync(path.join(outDir, 'latest.md'), md.join('\n'));

// A full-size run of every scenario on both servers also refreshes the
// table in docs/performance.md (between its bench:table markers).
const complete = report.scale === 1 && ['idle', 'broadcast', 'groups', 'churn'].every((s) => r(s, 'gyre') && r(s, 'anchor'));
if (args.docs && complete && fs.existsSync(args.docs)) {
  const doc = fs.readFileSync(args.docs, 'utf8');
  const start = '<!-- bench:table:start -->';
  const end = '<!-- bench:table:end -->';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) {
    const body = md.slice(2).join('\n').replace(/^## /gm, '### ');
    fs.writeFileSync(args.docs, `${doc.slice(0, i + start.length)}\n${body}\n${doc.slice(j)}`);
  }
}
console.log(md.join('\n'));

// A fake application backend for the proxy tests (connect, refresh, rpc,
// subscribe, publish, sub_refresh): an HTTP server on 127.0.0.1 that records
// every request and answers what the test's handler says. With
// startBackend(handler, {tls: {key, cert, ca, requestCert}}) it is an HTTPS
// server (node:https options; url() then gives https:// URLs).
//
//   const backend = await startBackend((req) => {
//     if (req.path === '/connect') return { json: { result: { user: '56' } } };
//     return { status: 500, body: 'oops' };
//   });
//   t.after(() => backend.close());
//   ... config: { endpoint: backend.url('/connect') } ...
//   await backend.waitForRequests(1, { path: '/connect' });
//   backend.requests[0]  // {method, path, url, headers, raw, body, at}
//
// A recorded request: method, path (without the query), url (with it),
// headers (Node lowercases their names), raw (the body text), body (the
// parsed JSON, or undefined when raw is not JSON), at (Date.now() on arrival),
// peerCN (over TLS: the client certificate's CN, or undefined).
//
// The handler (may be async) gets the recorded request and returns
//   {status = 200, json | body, headers, delayMs, destroy}
//   json     an object sent with JSON.stringify and Content-Type application/json
//   body     a raw string sent as is (text/plain unless headers say otherwise)
//   headers  extra response headers
//   delayMs  wait this long before answering (or destroying)
//   destroy  close the socket without answering
// Returning nothing answers 200 with an empty body. A handler that throws
// answers 500 with the error text. The default handler answers
// {"result":{}}.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const DEFAULT_HANDLER = () => ({ json: { result: {} } });

export async function startBackend(handler = DEFAULT_HANDLER, { tls } = {}) {
  let current = handler;
  const requests = [];
  const waiters = new Set();
  const sockets = new Set();
  let inFlight = 0;
  let maxInFlight = 0;

  const notify = () => {
    for (const w of waiters) w();
  };

  const onRequest = (req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const u = new URL(req.url, 'http://backend');
      const rec = {
        method: req.method,
        path: u.pathname,
        url: req.url,
        headers: { ...req.headers },
        raw,
        body,
        at: Date.now(),
        peerCN: tls ? req.socket.getPeerCertificate?.()?.subject?.CN : undefined,
      };
      requests.push(rec);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      notify();

      let answer;
      try {
        answer = (await current(rec)) || {};
      } catch (e) {
        answer = { status: 500, body: String(e?.stack || e) };
      }
      try {
        if (answer.delayMs) await sleep(answer.delayMs);
        if (answer.destroy) {
          req.socket.destroy();
          return;
        }
        if (res.destroyed || req.socket.destroyed) return; // the caller gave up
        const headers = { ...(answer.headers || {}) };
        let payload = '';
        if (answer.json !== undefined) {
          payload = JSON.stringify(answer.json);
          if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
            headers['Content-Type'] = 'application/json';
          }
        } else if (answer.body !== undefined) {
          payload = String(answer.body);
          if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
            headers['Content-Type'] = 'text/plain';
          }
        }
        headers['Content-Length'] = Buffer.byteLength(payload);
        res.writeHead(answer.status ?? 200, headers);
        res.end(payload);
      } finally {
        inFlight -= 1;
        notify();
      }
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  let connections = 0;
  server.on(tls ? 'secureConnection' : 'connection', () => {
    connections += 1;
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  server.on('clientError', (err, socket) => socket.destroy());

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  // Requests matching `filter` ({path, method} or a predicate) recorded so far.
  const matching = (filter) => {
    if (!filter) return requests.slice();
    if (typeof filter === 'function') return requests.filter(filter);
    return requests.filter(
      (r) => (filter.path === undefined || r.path === filter.path) && (filter.method === undefined || r.method === filter.method),
    );
  };

  let closed = false;
  return {
    port,
    requests,
    // http(s)://127.0.0.1:<port><path>
    url: (path = '/') => `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`,
    setHandler(fn) {
      current = fn || DEFAULT_HANDLER;
    },
    // Requests recorded so far, optionally filtered ({path, method} or a predicate).
    requestsTo: matching,
    // Calls in progress right now / the most seen at once.
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    // Connections accepted so far (over TLS: handshakes completed).
    get connections() {
      return connections;
    },
    // Closes every open connection, as a backend restart or idle timeout would.
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    // Resolves with the matching requests once there are at least n of them;
    // rejects after timeoutMs (default 5 s).
    waitForRequests(n, filter, timeoutMs = 5000) {
      if (typeof filter === 'number') {
        timeoutMs = filter;
        filter = undefined;
      }
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = matching(filter);
          if (got.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(got);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = matching(filter);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${n} backend request(s)` +
                `${filter && typeof filter !== 'function' ? ` to ${JSON.stringify(filter)}` : ''} (got ${got.length}; ` +
                `all: ${JSON.stringify(requests.map((r) => `${r.method} ${r.path}`))})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// An http:// URL on 127.0.0.1 whose port nobody listens on (bound, read and
// released; connections to it are refused).
export async function refusedUrl(path = '/') {
  const port = await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  return `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;
}

// Raw protocol helpers: a WebSocket that hands back frames as they come, and
// a plain TCP socket for HTTP/upgrade-level tests.
//
//   const ws = await openRaw(gyre.wsUrl);
//   ws.sendJson({ id: 1, connect: {} });
//   const reply = await ws.nextJson();          // one JSON message (frames may batch lines)
//   const { code, reason } = await ws.closed;
//
//   const { ws, got } = await rawSubscriber(gyre.wsUrl, 'news');  // got: publication data
//
//   const tcp = await rawTcp(gyre.port);
//   tcp.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
//   const text = await tcp.readUntilClose();
import net from 'node:net';
import WebSocket from 'ws';

const DEFAULT_TIMEOUT_MS = 5000;

// A queue of values that async readers take from in order; fail() makes
// current and future waits (once the queue is empty) reject.
export class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
    this.error = null;
  }
  push(v) {
    const w = this.waiters.shift();
    if (w) w.resolve(v);
    else this.items.push(v);
  }
  fail(err) {
    this.error = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
  take(timeoutMs, what) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

// Opens a WebSocket to wsUrl. Resolves once open; rejects if the handshake
// fails (err.statusCode and err.body are set when the server answered HTTP).
// opts: {headers, protocols, timeoutMs, ...any other `ws` client option}.
export function openRaw(wsUrl, opts = {}) {
  const { headers, protocols, timeoutMs = DEFAULT_TIMEOUT_MS, ...wsOpts } = opts;
  const ws = new WebSocket(wsUrl, protocols, {
    headers,
    handshakeTimeout: timeoutMs,
    ...wsOpts,
  });
  const frames = new Inbox();
  const lines = [];
  let closeInfo = null;

  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      frames.fail(new Error(`websocket closed (code ${code}, reason '${closeInfo.reason}')`));
      resolve(closeInfo);
    });
  });
  ws.on('message', (data, isBinary) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    frames.push({ data: buf, isBinary });
  });

  const conn = {
    ws,
    closed,
    get closeInfo() {
      return closeInfo;
    },
    // Sends a text frame.
    send(text) {
      ws.send(String(text), { binary: false });
    },
    // Sends a text frame with JSON.stringify(obj).
    sendJson(obj) {
      ws.send(JSON.stringify(obj), { binary: false });
    },
    // Sends a binary frame.
    sendBinary(buf) {
      ws.send(buf, { binary: true });
    },
    // Next frame as {data: Buffer, isBinary}.
    nextFrame(timeoutMs = DEFAULT_TIMEOUT_MS) {
      return frames.take(timeoutMs, 'a websocket message');
    },
    // Next frame's payload as text (binary frames are decoded as UTF-8).
    async next(timeoutMs = DEFAULT_TIMEOUT_MS) {
      const f = await frames.take(timeoutMs, 'a websocket message');
      return f.data.toString('utf8');
    },
    // Next JSON message. Centrifugo's JSON protocol may batch several
    // newline-separated messages into one frame; each is returned in turn.
    async nextJson(timeoutMs = DEFAULT_TIMEOUT_MS) {
      while (!lines.length) {
        const text = await conn.next(timeoutMs);
        for (const l of text.split('\n')) if (l.trim() !== '') lines.push(l);
      }
      const line = lines.shift();
      try {
        return JSON.parse(line);
      } catch (e) {
        throw new Error(`not JSON: ${JSON.stringify(line)} (${e.message})`);
      }
    },
    // Closes (code/reason optional); resolves with the close info.
    close(code, reason) {
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
        ws.close(code, reason);
      }
      return closed;
    },
    // Drops the TCP connection without a close frame.
    terminate() {
      ws.terminate();
      return closed;
    },
  };

  return new Promise((resolve, reject) => {
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const onUnexpected = (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        cleanup();
        const err = new Error(`websocket handshake rejected with HTTP ${res.statusCode}: ${body}`);
        err.statusCode = res.statusCode;
        err.headers = res.headers;
        err.body = body;
        req.destroy();
        reject(err);
      });
    };
    const onOpen = () => {
      cleanup();
      ws.on('error', () => {}); // reported through `closed`
      resolve(conn);
    };
    const cleanup = () => {
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpected);
      ws.off('open', onOpen);
    };
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
    ws.on('open', onOpen);
  });
}

// Opens a plain TCP connection to host:port (default 127.0.0.1).
export function rawTcp(port, host = '127.0.0.1') {
  const socket = net.connect({ port, host });
  const chunks = [];
  const waiters = new Set();
  let isClosed = false;
  const notify = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (d) => {
    chunks.push(d);
    notify();
  });
  const closed = new Promise((resolve) => {
    socket.on('close', (hadError) => {
      isClosed = true;
      notify();
      resolve({ hadError });
    });
  });

  const received = () => Buffer.concat(chunks);

  // Waits until done(buffer) is true or the socket closes. On close without
  // done: resolves if closeOk, else rejects. On timeout: resolves if soft,
  // else rejects.
  const waitData = (done, timeoutMs, { soft = false, closeOk = false, what = 'data' } = {}) =>
    new Promise((resolve, reject) => {
      const got = () => JSON.stringify(received().toString('latin1'));
      const check = () => {
        const buf = received();
        const ok = done(buf);
        if (!ok && !isClosed) return;
        waiters.delete(check);
        clearTimeout(timer);
        if (ok || closeOk) resolve(buf);
        else reject(new Error(`connection closed before ${what}; got ${got()}`));
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        if (soft) resolve(received());
        else reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${got()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  const conn = {
    socket,
    closed,
    get isClosed() {
      return isClosed;
    },
    // Everything received so far.
    received,
    // Writes bytes (string or Buffer); resolves once flushed to the kernel.
    write(bytes) {
      return new Promise((resolve, reject) => {
        socket.write(bytes, (err) => (err ? reject(err) : resolve()));
      });
    },
    // Everything received until the peer closes or timeoutMs passes
    // (whichever comes first), as text. Never rejects on timeout.
    async readAll(timeoutMs = 1000) {
      const buf = await waitData(() => false, timeoutMs, { soft: true, closeOk: true });
      return buf.toString('latin1');
    },
    // Everything received until the peer closes, as text; rejects if it
    // does not close within timeoutMs.
    async readUntilClose(timeoutMs = DEFAULT_TIMEOUT_MS) {
      const buf = await waitData(() => false, timeoutMs, { closeOk: true, what: 'the server to close' });
      return buf.toString('latin1');
    },
    // Everything received until the text contains `pattern` (string or
    // RegExp), as text; rejects on timeout or if the peer closes first.
    async readUntil(pattern, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const has = (buf) => {
        const t = buf.toString('latin1');
        return typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t);
      };
      const buf = await waitData(has, timeoutMs, { what: String(pattern) });
      return buf.toString('latin1');
    },
    // Half-closes our side (FIN).
    end() {
      socket.end();
    },
    // Drops the connection.
    destroy() {
      socket.destroy();
      return closed;
    },
  };

  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // surfaces as `closed`
      resolve(conn);
    });
    socket.once('error', reject);
  });
}

// Connects and subscribes to `channel` in one frame (as a load generator
// does). Resolves once subscribed with {ws, got, reply}: `got` collects the
// data of every publication pushed afterwards, in order.
export function rawSubscriber(wsUrl, channel) {
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
          resolve({ ws, got, reply: msg });
        } else if (ready && msg.push?.pub) {
          got.push(msg.push.pub.data);
        }
      }
    });
    ws.on('open', () =>
      ws.send(`{"connect":{"name":"t"},"id":1}\n{"subscribe":{"channel":"${channel}"},"id":2}`),
    );
  });
}

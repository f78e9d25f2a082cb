// Helpers for driving Gyre with the official centrifuge JS SDK under Node.
//
//   const c = newCentrifuge(gyre.wsUrl);
//   const connected = waitFor(c, 'connected');
//   c.connect();
//   const ctx = await connected;
//
// Register waitFor() before triggering the action so a fast event is not missed.
import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

import { startGyre } from './server.js';

export { Centrifuge, WebSocket };

const clients = new Set();

// A Centrifuge client that uses `ws` (the SDK has no WebSocket of its own in
// Node). opts are passed to the SDK and may override anything, websocket too.
export function newCentrifuge(url, opts = {}) {
  const c = new Centrifuge(url, { websocket: WebSocket, ...opts });
  clients.add(c);
  return c;
}

// Disconnects every client made by newCentrifuge (handy in an after hook).
export function disconnectAll() {
  for (const c of clients) {
    try {
      c.disconnect();
    } catch {
      // already gone
    }
  }
  clients.clear();
}

// Resolves with the context of the next `event` from `emitter` (a Centrifuge
// client or subscription, or any EventEmitter); rejects after timeoutMs with
// a message naming the event.
// The timeout message lists any error/disconnected/unsubscribed events seen
// meanwhile, which usually says why the awaited event never came.
const DIAGNOSTIC_EVENTS = ['error', 'disconnected', 'unsubscribed'];

function summarize(ctx) {
  try {
    return JSON.stringify(ctx, (k, v) => (v instanceof Error ? v.message : v));
  } catch {
    return String(ctx);
  }
}

export function waitFor(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const diag = DIAGNOSTIC_EVENTS.filter((e) => e !== event).map((e) => {
      const fn = (ctx) => seen.push(`${e} ${summarize(ctx)}`);
      emitter.on(e, fn);
      return [e, fn];
    });
    const cleanup = () => {
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      for (const [e, fn] of diag) emitter.removeListener(e, fn);
    };
    const onEvent = (ctx) => {
      cleanup();
      resolve(ctx);
    };
    const timer = setTimeout(() => {
      cleanup();
      const what = emitter?.channel ? ` on subscription '${emitter.channel}'` : '';
      const also = seen.length ? `; meanwhile: ${seen.join('; ')}` : '';
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'${what}${also}`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}

// Records every `event` context emitted by `emitter` into the returned array.
// The array also has:
//   waitForCount(n, timeoutMs)  resolves with the array once it holds >= n items
//   stop()                      stops recording
export function collect(emitter, event = 'publication') {
  const items = [];
  const waiters = new Set();
  const onEvent = (ctx) => {
    items.push(ctx);
    for (const w of waiters) w();
  };
  emitter.on(event, onEvent);
  Object.defineProperties(items, {
    stop: {
      value: () => emitter.removeListener(event, onEvent),
    },
    waitForCount: {
      value: (n, timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            if (items.length >= n) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(items);
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${n} '${event}' events (got ${items.length})`,
              ),
            );
          }, timeoutMs);
          waiters.add(check);
          check();
        }),
    },
  });
  return items;
}

// Polls `predicate` (may be async) every 20 ms until it returns truthy;
// resolves with that value or rejects after timeoutMs with `message`.
export async function waitUntil(predicate, timeoutMs = 5000, message = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Starts a server for one test (startGyre(config, opts)) and registers its
// cleanup. Returns {gyre, mk}: mk(opts) makes an SDK client of the server's
// WebSocket endpoint that is disconnected when the test ends.
export async function serverWithClients(t, config = {}, opts = {}) {
  const gyre = await startGyre(config, opts);
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await gyre.stop();
  });
  const mk = (clientOpts) => {
    const c = newCentrifuge(gyre.wsUrl, clientOpts);
    clients.push(c);
    return c;
  };
  return { gyre, mk };
}

// Connects an SDK client; resolves with the `connected` context.
export async function connect(c) {
  const connected = waitFor(c, 'connected');
  c.connect();
  return connected;
}

// Subscribes an SDK client to `channel`; resolves with the subscription once
// subscribed.
export async function subscribe(c, channel, opts) {
  const sub = c.newSubscription(channel, opts);
  const subscribed = waitFor(sub, 'subscribed');
  sub.subscribe();
  await subscribed;
  return sub;
}

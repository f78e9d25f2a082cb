// Readers for the unidirectional and emulation HTTP streams, fed by real
// clients: curl (spawned, -N so it prints each chunk as it comes) or any
// Node readable. Messages come out one at a time as parsed JSON:
//
//   const s = curlStream(['-X', 'POST', '-d', '{}', `${gyre.url}/connection/uni_http_stream`]);
//   const connect = await s.nextJson();          // {"connect":{...}}
//   const { code } = await s.exited;             // curl's exit status
//
// framing 'lines': one JSON document per line (http_stream, uni_http_stream);
// framing 'sse': SSE events, the JSON in `data:` lines (sse, uni_sse).
import { spawn } from 'node:child_process';

import { Inbox } from './rawws.js';

const DEFAULT_TIMEOUT_MS = 5000;

// Splits text as it arrives into messages pushed to inbox.
function messageSplitter(framing, inbox) {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      if (framing === 'sse') {
        if (line.startsWith('data:')) inbox.push(line.slice(5).replace(/^ /, ''));
        else if (line !== '' && !line.startsWith(':')) inbox.push({ unexpected: line });
      } else if (line !== '') {
        inbox.push(line);
      }
    }
  };
}

function reader(inbox, extra) {
  return {
    ...extra,
    // Next message's text.
    async next(timeoutMs = DEFAULT_TIMEOUT_MS) {
      const m = await inbox.take(timeoutMs, 'a stream message');
      if (typeof m !== 'string') throw new Error(`not an SSE data line: ${JSON.stringify(m.unexpected)}`);
      return m;
    },
    // Next message as JSON.
    async nextJson(timeoutMs = DEFAULT_TIMEOUT_MS) {
      const text = await this.next(timeoutMs);
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`not JSON: ${JSON.stringify(text)} (${e.message})`);
      }
    },
    // Next message that is not a ping ({}).
    async nextPush(timeoutMs = DEFAULT_TIMEOUT_MS) {
      for (;;) {
        const m = await this.nextJson(timeoutMs);
        if (Object.keys(m).length > 0) return m;
      }
    },
  };
}

// curl -sS -N <args>; framing defaults to 'lines'. exited resolves with
// {code, signal, stderr}. kill() ends it.
export function curlStream(args, { framing = 'lines' } = {}) {
  const inbox = new Inbox();
  const proc = spawn('curl', ['-sS', '-N', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', messageSplitter(framing, inbox));
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => {
    proc.once('close', (code, signal) => {
      inbox.fail(new Error(`curl ended (code ${code}): ${stderr}`));
      resolve({ code, signal, stderr });
    });
  });
  proc.once('error', (e) => inbox.fail(e));
  return reader(inbox, { proc, exited, kill: () => proc.kill('SIGKILL') });
}

// The same reader over a fetch Response body (a web ReadableStream); it
// takes the body over.
export function responseStream(res, { framing = 'lines' } = {}) {
  const inbox = new Inbox();
  const split = messageSplitter(framing, inbox);
  const decoder = new TextDecoder();
  const body = res.body.getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await body.read();
        if (done) break;
        split(decoder.decode(value, { stream: true }));
      }
      inbox.fail(new Error('stream ended'));
    } catch (e) {
      inbox.fail(e);
    }
  })();
  // cancel() closes the connection (the server sees the peer go away).
  return reader(inbox, { ended, cancel: () => body.cancel() });
}

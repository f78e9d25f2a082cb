// A real browser: headless Chromium (Debian's `chromium`, driven through
// playwright-core) loads a page from a server on another port, which uses
// the centrifuge SDK's browser build on the sse transport and then a plain
// EventSource on uni_sse. Publications from the API must arrive in the
// page, and the page's own publish must travel through /emulation; both
// cross-origin, so Chromium enforces Gyre's CORS answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { keyFor, mint } from './lib/jwt.js';
import { startGyre } from './lib/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.GYRE_CHROMIUM || '/usr/bin/chromium';
const TEST_TIMEOUT = 60_000;

// Serves the page and the SDK's browser build.
async function pageServer() {
  const files = {
    '/': ['text/html', path.join(here, 'web', 'sse.html')],
    '/centrifuge.js': ['text/javascript', path.join(here, 'node_modules', 'centrifuge', 'dist', 'centrifuge.js')],
  };
  const srv = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': f[0] });
    res.end(fs.readFileSync(f[1]));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

test('headless Chromium: SDK over sse, then uni_sse through EventSource', { timeout: TEST_TIMEOUT }, async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: make deps installs Debian's chromium`);
  const site = await pageServer();
  t.after(() => site.close());
  const key = await keyFor('HS256');
  const gyre = await startGyre({
    client: { token: key.config, allow_anonymous_connect_without_token: true, allowed_origins: [site.origin] },
    sse: { enabled: true },
    uni_sse: { enabled: true },
    channel: {
      namespaces: [
        {
          name: 'room',
          allow_subscribe_for_anonymous: true,
          allow_subscribe_for_client: true,
          allow_publish_for_anonymous: true,
          allow_publish_for_client: true,
        },
      ],
    },
  });
  t.after(() => gyre.stop());

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  const why = () => `page console: ${consoleLines.join(' | ')}`;
  await page.goto(`${site.origin}/?gyre=${encodeURIComponent(gyre.url)}`);

  const waitEvent = (fn, arg, what) =>
    page.waitForFunction(fn, arg, { timeout: 15_000 }).catch((e) => {
      throw new Error(`${what}: ${e.message}; ${why()}`);
    });

  // The SDK on sse.
  await page.evaluate(() => window.startSdk('room:browser'));
  await waitEvent(() => window.events.some((e) => e.subscribed), null, 'SDK subscribed');
  const connected = await page.evaluate(() => window.events.find((e) => e.connected));
  assert.equal(connected.connected, 'sse');

  const r = await gyre.api('publish', { channel: 'room:browser', data: { from: 'api' } });
  assert.equal(r.status, 200, r.text);
  await waitEvent(() => window.events.some((e) => e.pub && e.pub.from === 'api'), null, 'API publication');

  await page.evaluate(() => window.publishFromPage({ from: 'page' }));
  await waitEvent(() => window.events.some((e) => e.pub && e.pub.from === 'page'), null, 'page publication');

  // uni_sse with the browser's EventSource and a token that subscribes it.
  const token = await mint({ sub: 'browser-user', channels: ['room:uni'] }, key, { expiresIn: 600 });
  await page.evaluate((tk) => window.startUni(tk), token);
  await waitEvent(() => window.events.some((e) => e.uni && e.uni.connect), null, 'uni_sse connect push');
  const push = await page.evaluate(() => window.events.find((e) => e.uni && e.uni.connect).uni);
  assert.ok(push.connect.subs['room:uni'], JSON.stringify(push));
  const r2 = await gyre.api('publish', { channel: 'room:uni', data: { to: 'eventsource' } });
  assert.equal(r2.status, 200, r2.text);
  await waitEvent(
    () => window.events.some((e) => e.uni && e.uni.pub && e.uni.pub.data.to === 'eventsource'),
    null,
    'uni_sse publication',
  );
  const all = await page.evaluate(() => window.events);
  assert.ok(!all.some((e) => e.disconnected !== undefined), `no disconnect: ${JSON.stringify(all)}`);
  await page.evaluate(() => {
    window.uni.close();
    window.sdk.disconnect();
  });
});

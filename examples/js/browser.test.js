// @stomp/stompjs in a real browser: Debian's Chromium, headless, driven with
// puppeteer-core (no browser download). A page served here from the
// package's own files connects to the stompbox binary over WebSocket,
// subscribes, sends, receives its message and acks it; the test checks the
// page and the broker's journal, and saves a screenshot.
// Chromium is $CHROMIUM or /usr/bin/chromium; without it the test is skipped,
// unless $STOMPBOX_REQUIRE_BROWSER is set (CI sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { launch } from 'puppeteer-core';
import { withBroker } from 'stompbox';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshots = process.env.STOMPBOX_ARTIFACTS ?? here('../../target/ci-artifacts');

/** The page and stompjs's bundle, on a loopback port of its own. */
async function servePage() {
  const files = {
    '/': ['text/html', readFileSync(here('browser/page.html'))],
    '/stomp.umd.js': ['text/javascript', readFileSync(here('node_modules/@stomp/stompjs/bundles/stomp.umd.js'))],
  };
  const server = createServer((request, response) => {
    const [type, body] = files[new URL(request.url, 'http://x').pathname] ?? ['text/plain', 'not found'];
    response.writeHead(type === 'text/plain' ? 404 : 200, { 'Content-Type': type });
    response.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const available = existsSync(chromium);
const skip = !available && !process.env.STOMPBOX_REQUIRE_BROWSER && `no Chromium at ${chromium}`;

test('stompjs in headless Chromium talks to stompbox over WebSocket', { skip }, withBroker(async (broker) => {
  const server = await servePage();
  const browser = await launch({
    executablePath: chromium,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    const { port } = server.address();
    await page.goto(`http://127.0.0.1:${port}/?broker=${broker.wsUrl}`);
    const body = await page.evaluate(() => window.received);
    assert.equal(body, 'hello from the browser');
    const log = await page.$$eval('#log li', (items) => items.map((i) => i.textContent));
    assert.deepEqual(log, [
      'connected: STOMP 1.2',
      'sent: hello from the browser',
      'received: hello from the browser',
      'disconnected',
    ]);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}/browser.png` });

    // What the broker saw: a ws connection from the browser, its handshake,
    // the ack, and the page's reply.
    const [connection] = await broker.connections();
    assert.equal(connection.transport, 'ws');
    assert.equal(connection.websocket.subprotocol, 'v12.stomp');
    const agent = connection.websocket.headers.find(([name]) => name.toLowerCase() === 'user-agent');
    assert.match(agent[1], /Chrome/);
    assert.equal((await broker.acks()).length, 1);
    const [reply] = await broker.messages({ destination: '/queue/browser-reply' });
    assert.equal(reply.body, 'echo: hello from the browser');
  } finally {
    await browser.close();
    server.close();
  }
}));

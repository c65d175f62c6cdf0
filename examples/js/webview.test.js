// The binary's live web view in a real browser: Debian's Chromium, headless,
// driven with puppeteer-core. Two stompjs clients (Node, over WebSocket) talk
// through the broker; the test opens the page the HTTP API serves at `/` and
// checks what it shows: the connections and subscriptions, the frame log
// growing live, the sequence diagram's arrows in order with a MESSAGE linked
// to its SEND and its ACK, and the publish action reaching the subscriber.
// Then it opens the HTML report a failed wait wrote, from disk, and checks
// its diagram. Screenshots go to target/ci-artifacts.
// Chromium is $CHROMIUM or /usr/bin/chromium; without it the test is skipped,
// unless $STOMPBOX_REQUIRE_BROWSER is set (CI sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { launch } from 'puppeteer-core';
import { withBroker } from 'stompbox';

globalThis.WebSocket = WebSocket;

const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshots = process.env.STOMPBOX_ARTIFACTS ?? fileURLToPath(new URL('../../target/ci-artifacts', import.meta.url));
const skip = !existsSync(chromium) && !process.env.STOMPBOX_REQUIRE_BROWSER && `no Chromium at ${chromium}`;
const reports = mkdtempSync(join(tmpdir(), 'stompbox-reports-'));

/** A connected stompjs client over WebSocket. */
async function connect(broker, clientId) {
  const client = new Client({ brokerURL: broker.wsUrl, connectHeaders: { 'client-id': clientId }, reconnectDelay: 0 });
  const connected = new Promise((resolve) => (client.onConnect = resolve));
  client.activate();
  await connected;
  return client;
}

/** Resolves with the next `count` bodies the subscription gets. */
function collect(client, destination, count) {
  const bodies = [];
  return new Promise((resolve) => {
    client.subscribe(destination, (message) => {
      message.ack();
      bodies.push(message.body);
      if (bodies.length === count) resolve(bodies);
    }, { ack: 'client-individual' });
  });
}

test('the web view shows connections, live frames, the diagram, and publishes', { skip },
  withBroker({ env: { STOMPBOX_REPORT_DIR: reports } }, async (broker) => {
    const consumer = await connect(broker, 'view-consumer');
    const arrived = collect(consumer, '/queue/view', 3);
    const producer = await connect(broker, 'view-producer');
    producer.publish({ destination: '/queue/view', body: 'first', headers: { receipt: 'r1' } });
    await broker.waitForMessages('/queue/view', 1);

    const browser = await launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 1300 });
      await page.goto(`${broker.httpUrl}/`);

      // The connections and the subscription.
      await page.waitForSelector('#connections tbody tr[data-connection="2"]');
      const clients = await page.$$eval('#connections tbody tr', (rows) =>
        rows.map((row) => [row.dataset.connection, row.querySelector('.client-id').textContent, row.querySelector('.state').textContent]));
      assert.deepEqual(clients, [['1', 'view-consumer', 'open'], ['2', 'view-producer', 'open']]);
      const subscriptions = await page.$$eval('#subscriptions tbody tr', (rows) => rows.map((row) => row.dataset.destination));
      assert.deepEqual(subscriptions, ['/queue/view']);
      assert.match(await page.$eval('#binding', (b) => b.textContent), /loopback only/);

      // The frame log: what happened before the page opened, then a frame sent now.
      await page.waitForSelector('#log li.frame[data-command="SEND"]');
      const before = await page.$$eval('#log li.frame', (items) => items.length);
      producer.publish({ destination: '/queue/view', body: 'second', headers: { receipt: 'r2' } });
      await page.waitForFunction((count) => document.querySelectorAll('#log li.frame[data-command="SEND"]').length === 2 &&
        document.querySelectorAll('#log li.frame').length > count, {}, before);
      const seqs = await page.$$eval('#log li.frame', (items) => items.map((i) => Number(i.dataset.seq)));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'the log is in order');

      // The publish action delivers to the subscriber.
      await page.$eval('#publish-destination', (input) => (input.value = '/queue/view'));
      await page.type('#publish-body', 'from the page');
      await page.click('#publish-send');
      assert.deepEqual(await arrived, ['first', 'second', 'from the page']);
      await broker.waitForMessages('/queue/view', 3);

      // The diagram: both connections, arrows in time order, the first
      // MESSAGE linked to the producer's SEND and to the consumer's ACK.
      await page.waitForFunction(() => document.querySelectorAll('#diagram svg .ack-link').length >= 2);
      const arrows = await page.$$eval('#diagram svg g.arrow', (gs) => gs.map((g) => [g.dataset.connection, g.dataset.command]));
      const consumerCommands = arrows.filter(([c]) => c === '1').map(([, command]) => command);
      assert.deepEqual(consumerCommands.slice(0, 5), ['CONNECT', 'CONNECTED', 'SUBSCRIBE', 'MESSAGE', 'ACK']);
      const producerCommands = arrows.filter(([c]) => c === '2').map(([, command]) => command);
      assert.deepEqual(producerCommands.slice(0, 4), ['CONNECT', 'CONNECTED', 'SEND', 'RECEIPT']);
      const times = await page.$$eval('#diagram svg g.arrow text.time', (ts) => ts.map((t) => parseFloat(t.textContent)));
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'arrows in time order');
      const link = await page.$eval('#diagram svg .send-link', (l) => [Number(l.dataset.from), Number(l.dataset.to)]);
      assert.deepEqual([arrows[link[0]], arrows[link[1]]], [['2', 'SEND'], ['1', 'MESSAGE']]);
      assert.ok(link[0] < link[1], 'a SEND is drawn before the MESSAGE it caused');

      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, 'webview.png'), fullPage: true });

      // A failed wait writes an HTML report; it opens from disk and draws.
      const failure = await broker.waitForMessages('/queue/never', 1, { timeout: 50 }).catch((e) => e);
      const [, path] = failure.message.match(/HTML report: (\S+)/);
      assert.ok(readFileSync(path, 'utf8').includes('StompboxDiagram'));
      await page.goto(`file://${path}`);
      await page.waitForSelector('#diagram svg g.arrow');
      assert.match(await page.$eval('h1', (h) => h.textContent), /waiting for 1 message published to \/queue\/never/);
      assert.match(await page.$eval('#report', (r) => r.textContent), /per destination: \/queue\/view: 3/);
      const reportArrows = await page.$$eval('#diagram svg g.arrow', (gs) => gs.map((g) => g.dataset.command));
      assert.deepEqual(reportArrows.slice(0, 2), ['CONNECT', 'CONNECTED']);
      assert.ok(reportArrows.filter((c) => c === 'MESSAGE').length === 3, reportArrows.join(' '));
      await page.screenshot({ path: join(screenshots, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
      await producer.deactivate();
      await consumer.deactivate();
    }
  }));

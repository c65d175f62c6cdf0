// An application on @stomp/stompjs (Node, over WebSocket with `ws`) that
// reconnects (reconnectDelay) and resubscribes in onConnect, tested against
// stompbox's simulated failures: a restart, then the broker's heart-beats
// stopping, which stompjs's own heart-beat check must notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';

globalThis.WebSocket = WebSocket;

const binary =
  process.env.STOMPBOX_BIN ?? fileURLToPath(new URL('../../target/debug/stompbox', import.meta.url));

async function startStompbox() {
  const child = spawn(binary, ['--port', '0', '--http-port', '0', '--ready-json', '--log', 'off']);
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const ready = JSON.parse(line);
  const call = async (method, path, body) => {
    const response = await fetch(`http://${ready.http}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const stop = async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    return code;
  };
  return { stomp: ready.stomp, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body), stop };
}

/// A promise and the function that resolves it, for one event to come.
function nextEvent() {
  let resolve;
  const happened = new Promise((r) => (resolve = r));
  return { happened, resolve };
}

test('stompjs reconnects after a restart, resubscribes, and notices stopped heart-beats', async () => {
  const broker = await startStompbox();
  let connects = 0;
  let connected = nextEvent();
  let closed = nextEvent();
  const client = new Client({
    brokerURL: `ws://${broker.stomp}/ws`,
    connectHeaders: { 'client-id': 'js-app' },
    reconnectDelay: 50,
    heartbeatIncoming: 200,
    heartbeatOutgoing: 0,
  });
  client.onConnect = () => {
    connects += 1;
    client.subscribe('/queue/js-work', () => {}, { ack: 'client' });
    connected.resolve();
  };
  client.onWebSocketClose = () => closed.resolve(Date.now());
  client.activate();
  await connected.happened;

  // The restart: down for 200 ms, then stompjs's next attempt gets in.
  connected = nextEvent();
  await broker.post('/restart?down_ms=200');
  await connected.happened;
  const { client: record } = await broker.get('/wait?client=js-app&reconnects=1&timeout_ms=10000');
  assert.equal(record.reconnects, 1);
  assert.ok(record.reconnect_gaps_ms[0] >= 200, JSON.stringify(record));
  const live = (await broker.get('/connections')).filter((c) => c.closed === null);
  assert.deepEqual(live.at(-1).subscribed, [{ destination: '/queue/js-work', ack: 'client' }]);
  assert.equal(live.at(-1).heart_beat[0], 200, 'the broker beats every 200 ms');

  // Heart-beats stop; the socket stays open: stompjs's check (twice the
  // interval) must close it, and then it reconnects once more.
  closed = nextEvent();
  connected = nextEvent();
  const armed = Date.now();
  await broker.post('/faults', { kind: 'stop_heart_beats', connection: live.at(-1).id });
  const noticedAt = await closed.happened;
  const noticed = noticedAt - armed;
  console.log(`stompjs noticed the silence after ${noticed} ms`);
  assert.ok(noticed >= 200 && noticed < 1500, `${noticed} ms`);
  await connected.happened;
  assert.equal(connects, 3);
  const [fault] = await broker.get('/faults');
  assert.equal(fault.fired, 1);

  await client.deactivate();
  assert.equal(await broker.stop(), 0);
});

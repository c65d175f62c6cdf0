// An application on @stomp/stompjs (Node, over WebSocket with `ws`) that
// reconnects (reconnectDelay) and resubscribes in onConnect, tested against
// stompbox's simulated failures: a restart, then the broker's heart-beats
// stopping, which stompjs's own heart-beat check must notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { withBroker } from 'stompbox';

globalThis.WebSocket = WebSocket;

/// A promise and the function that resolves it, for one event to come.
function nextEvent() {
  let resolve;
  const happened = new Promise((r) => (resolve = r));
  return { happened, resolve };
}

test('stompjs reconnects after a restart, resubscribes, and notices stopped heart-beats', withBroker(async (broker) => {
  let connects = 0;
  let connected = nextEvent();
  let closed = nextEvent();
  const client = new Client({
    brokerURL: broker.wsUrl,
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
  await broker.restart({ downMs: 200 });
  await connected.happened;
  const record = await broker.waitForReconnects('js-app', 1);
  assert.equal(record.reconnects, 1);
  assert.ok(record.reconnect_gaps_ms[0] >= 200, JSON.stringify(record));
  const live = (await broker.connections()).filter((c) => c.closed === null);
  assert.deepEqual(live.at(-1).subscribed, [{ destination: '/queue/js-work', ack: 'client' }]);
  assert.equal(live.at(-1).heart_beat[0], 200, 'the broker beats every 200 ms');

  // Heart-beats stop; the socket stays open: stompjs's check (twice the
  // interval) must close it, and then it reconnects once more.
  closed = nextEvent();
  connected = nextEvent();
  const armed = Date.now();
  await broker.addFault({ kind: 'stop_heart_beats', connection: live.at(-1).id });
  const noticedAt = await closed.happened;
  const noticed = noticedAt - armed;
  console.log(`stompjs noticed the silence after ${noticed} ms`);
  assert.ok(noticed >= 200 && noticed < 1500, `${noticed} ms`);
  await connected.happened;
  assert.equal(connects, 3);
  const [fault] = await broker.faults();
  assert.equal(fault.fired, 1);

  await client.deactivate();
}));

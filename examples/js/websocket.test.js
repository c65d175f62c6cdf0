// @stomp/stompjs over WebSocket (the `ws` package, no TCP wrapper) against
// the stompbox binary's STOMP port: connect, subscribe, send in a
// transaction, receive, ack, heart-beats both ways, disconnect; then ask
// stompbox what it saw, handshake included. Run: npm test, with the stompbox
// package installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { withBroker } from 'stompbox';

// stompjs uses the WebSocket global, as in a browser; Node 20 has none.
globalThis.WebSocket = WebSocket;

test('stompjs over ws:// connects, subscribes, sends in a transaction, acks, beats and disconnects', withBroker(async (broker) => {
  const client = new Client({
    brokerURL: broker.wsUrl,
    connectHeaders: { 'client-id': 'js-ws-test' },
    heartbeatIncoming: 200,
    heartbeatOutgoing: 200,
    reconnectDelay: 0,
  });
  const connected = new Promise((resolve) => (client.onConnect = resolve));
  client.activate();
  const frame = await connected;
  assert.equal(frame.headers.version, '1.2');
  assert.equal(frame.headers['heart-beat'], '200,200');

  const received = new Promise((resolve) => {
    client.subscribe('/queue/ws', resolve, { ack: 'client-individual' });
  });
  const tx = client.begin();
  client.publish({ destination: '/queue/ws', body: 'hello over WebSocket', headers: { transaction: tx.id } });
  tx.commit();
  const message = await received;
  assert.equal(message.body, 'hello over WebSocket');
  message.ack();

  // Heart-beats both ways: wait until the transcript shows some of each.
  let beats = { in: 0, out: 0 };
  for (let tries = 0; tries < 100 && (beats.in < 2 || beats.out < 2); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [connection] = await broker.connections();
    const frames = await broker.frames(connection);
    beats = {
      in: frames.filter((f) => f.heart_beat && f.direction === 'in').length,
      out: frames.filter((f) => f.heart_beat && f.direction === 'out').length,
    };
  }
  assert.ok(beats.in >= 2 && beats.out >= 2, `heart-beats seen: ${JSON.stringify(beats)}`);

  await client.deactivate();

  const [connection] = await broker.connections();
  assert.equal(connection.transport, 'ws');
  assert.equal(connection.client_id, 'js-ws-test');
  assert.equal(connection.websocket.path, '/ws');
  assert.equal(connection.websocket.subprotocol, 'v12.stomp');
  const acks = await broker.acks();
  assert.equal(acks.length, 1);
  const frames = await broker.frames(connection);
  const sent = frames.filter((f) => f.direction === 'in' && f.frame).map((f) => f.frame.command);
  assert.deepEqual(sent, ['CONNECT', 'SUBSCRIBE', 'BEGIN', 'SEND', 'COMMIT', 'ACK', 'DISCONNECT']);
}));

test('stompjs over wss:// trusts the CA the broker made', withBroker({ tlsPort: 0 }, async (broker) => {
  const ca = readFileSync(broker.caFile);
  const port = broker.tlsAddress.split(':')[1];
  const client = new Client({
    webSocketFactory: () => new WebSocket(`wss://localhost:${port}/ws`, ['v12.stomp', 'v11.stomp'], { ca }),
    reconnectDelay: 0,
  });
  const connected = new Promise((resolve) => (client.onConnect = resolve));
  client.activate();
  await connected;
  const received = new Promise((resolve) => client.subscribe('/topic/wss', resolve));
  // SUBSCRIBE and SEND travel in order on one connection: the broker has
  // the subscription before the message.
  client.publish({ destination: '/topic/wss', body: 'over TLS' });
  const message = await Promise.race([
    received,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no MESSAGE within 5 s')), 5000)),
  ]);
  assert.equal(message.body, 'over TLS');
  await client.deactivate();
  const [connection] = await broker.connections();
  assert.equal(connection.transport, 'wss');
}));

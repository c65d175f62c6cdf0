// @stomp/stompjs over @stomp/tcp-wrapper against the stompbox binary:
// connect, subscribe, send in a transaction, receive, ack, disconnect; then
// ask stompbox what it saw. With the npm package installed
// (npm install --save-dev stompbox; from this checkout: npm ci && npm install
// --no-save ../../js), run: npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import { withBroker } from 'stompbox';

test('stompjs connects, subscribes, sends in a transaction, acks and disconnects', withBroker(async (broker) => {
  const client = new Client({
    webSocketFactory: () => new TCPWrapper(broker.host, broker.port),
    connectHeaders: { 'client-id': 'js-test' },
    reconnectDelay: 0,
  });
  const connected = new Promise((resolve) => (client.onConnect = resolve));
  client.activate();
  await connected;

  const received = new Promise((resolve) => {
    client.subscribe('/queue/js', resolve, { ack: 'client-individual' });
  });
  const tx = client.begin();
  client.publish({ destination: '/queue/js', body: 'hello from stompjs', headers: { transaction: tx.id } });
  tx.commit();
  const message = await received;
  assert.equal(message.body, 'hello from stompjs');
  message.ack();

  // A receipt on DISCONNECT: everything before it has been handled.
  await client.deactivate();

  const acks = await broker.acks();
  assert.equal(acks.length, 1);
  assert.equal(acks[0].kind, 'ACK');
  const [committed] = await broker.transactionHistory();
  assert.equal(committed.outcome, 'committed');
  const [connection] = await broker.connections();
  assert.equal(connection.client_id, 'js-test');
  const frames = await broker.frames(connection);
  const sent = frames.filter((f) => f.direction === 'in' && f.frame).map((f) => f.frame.command);
  assert.deepEqual(sent, ['CONNECT', 'SUBSCRIBE', 'BEGIN', 'SEND', 'COMMIT', 'ACK', 'DISCONNECT']);
}));

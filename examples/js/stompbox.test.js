// @stomp/stompjs over @stomp/tcp-wrapper against the stompbox binary:
// connect, subscribe, send in a transaction, receive, ack, disconnect; then
// ask stompbox's HTTP API what it saw. Run: npm ci && npm test
// (the binary is $STOMPBOX_BIN, or target/debug/stompbox of this checkout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';

const binary =
  process.env.STOMPBOX_BIN ?? fileURLToPath(new URL('../../target/debug/stompbox', import.meta.url));

async function startStompbox() {
  const child = spawn(binary, ['--port', '0', '--http-port', '0', '--ready-json', '--log', 'off']);
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const ready = JSON.parse(line);
  const [host, port] = [ready.stomp.split(':')[0], Number(ready.stomp.split(':')[1])];
  const api = async (path) => (await fetch(`http://${ready.http}${path}`)).json();
  const stop = async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    return code;
  };
  return { host, port, api, stop };
}

test('stompjs connects, subscribes, sends in a transaction, acks and disconnects', async () => {
  const broker = await startStompbox();
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

  const acks = await broker.api('/acks');
  assert.equal(acks.length, 1);
  assert.equal(acks[0].kind, 'ACK');
  const [committed] = await broker.api('/transactions/history');
  assert.equal(committed.outcome, 'committed');
  const [connection] = await broker.api('/connections');
  assert.equal(connection.client_id, 'js-test');
  const frames = await broker.api(`/connections/${connection.id}/frames`);
  const sent = frames.filter((f) => f.direction === 'in' && f.frame).map((f) => f.frame.command);
  assert.deepEqual(sent, ['CONNECT', 'SUBSCRIBE', 'BEGIN', 'SEND', 'COMMIT', 'ACK', 'DISCONNECT']);
  assert.equal(await broker.stop(), 0);
});

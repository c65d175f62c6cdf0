// The npm package as a user meets it, installed from its tarball: the ES
// module and CommonJS entry points, the broker's calls with @stomp/stompjs as
// the client, the test helpers, the `stompbox` command, and no broker left
// behind. Run with `node --test` from the project that installed it.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import stompbox, { startBroker, withBroker, useBroker as useGlobalBroker, WaitTimeoutError, StompboxError } from 'stompbox';
import { useBroker } from 'stompbox/node-test';

const require = createRequire(import.meta.url);

/** A connected stompjs client over TCP. */
async function connect(broker, connectHeaders = {}) {
  const client = new Client({
    webSocketFactory: () => new TCPWrapper(broker.host, broker.port),
    connectHeaders,
    reconnectDelay: 0,
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
  });
  client.activate();
  await connected;
  return client;
}

/** Whether process `pid` has ended (a zombie waiting for init counts). */
function gone(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat.split(') ')[1]?.startsWith('Z') ?? false;
}

test('the ES module and CommonJS entry points are the same API', () => {
  const fromRequire = require('stompbox');
  assert.equal(fromRequire.startBroker, startBroker);
  assert.equal(stompbox.withBroker, withBroker);
  assert.equal(typeof require('stompbox/node-test').useBroker, 'function');
  if (!process.env.STOMPBOX_BIN) {
    assert.match(fromRequire.findBinary(), /node_modules\/stompbox\/native\/[a-z0-9]+-[a-z0-9]+\/stompbox$/);
  }
});

test('stompjs traffic, seen through the broker\'s calls', withBroker(async (broker) => {
  const client = await connect(broker, { 'client-id': 'js-package' });
  const received = new Promise((resolve) => client.subscribe('/queue/jobs', resolve, { ack: 'client-individual' }));
  const id = await broker.publish('/queue/jobs', 'job 1', { kind: 'test' });
  const message = await received;
  assert.equal(message.body, 'job 1');
  const [subscription] = await broker.subscriptions();
  assert.deepEqual([subscription.ack, subscription.unacked], ['client-individual', 1]);
  message.ack();
  client.publish({ destination: '/queue/out', body: 'done', headers: { receipt: 'r' } });
  const [done] = await broker.waitForMessages('/queue/out');
  assert.equal(done.body, 'done');
  assert.equal(done.origin.client_id, 'js-package');
  await client.deactivate();

  const [ack] = await broker.acks();
  assert.deepEqual([ack.kind, ack.message_id], ['ACK', id]);
  const [connection] = await broker.connections();
  const sent = (await broker.frames(connection)).filter((e) => e.direction === 'in' && e.frame).map((e) => e.frame.command);
  assert.deepEqual(sent, ['CONNECT', 'SUBSCRIBE', 'ACK', 'SEND', 'DISCONNECT']);
  assert.deepEqual(await broker.messageBody(done.message_id), Buffer.from('done'));
}));

test('a wait that times out is a WaitTimeoutError with the broker\'s report', withBroker(async (broker) => {
  await broker.publish('/queue/typo', 'misrouted');
  const error = await broker.waitForMessages('/queue/right', 1, { timeout: 30 }).catch((e) => e);
  assert.ok(error instanceof WaitTimeoutError && error instanceof StompboxError);
  assert.match(error.message, /waiting for 1 message published to \/queue\/right/);
  assert.match(error.message, /\/queue\/typo: 1/);
}));

test('withBroker puts what the broker saw into a failing assertion', async () => {
  let pid;
  const body = withBroker(async (broker) => {
    pid = broker.pid;
    const client = await connect(broker);
    client.publish({ destination: '/queue/order', body: 'to the wrong queue', headers: { receipt: 'r' } });
    await broker.waitForMessages('/queue/order');
    await client.deactivate();
    assert.equal((await broker.messages({ destination: '/queue/orders' })).length, 1);
  });
  const failure = await body().catch((e) => e);
  assert.ok(failure instanceof assert.AssertionError, String(failure));
  assert.match(failure.message, /stompbox 127\.0\.0\.1:\d+: what the broker saw/);
  assert.match(failure.message, /published \(1 message\) per destination: \/queue\/order: 1/);
  assert.match(failure.message, /<- SEND destination:\/queue\/order receipt:r/);
  assert.ok(gone(pid), 'the broker stopped after the failure');
});

test('options are the binary\'s flags: users, grants, limits', withBroker(
  { users: { app: 'secret' }, grants: [['app', '/queue/mine', 'PUB']], maxFrameSize: 64 },
  async (broker) => {
    assert.ok(broker.args.includes('--max-frame-size'));
    await assert.rejects(connect(broker, { login: 'app', passcode: 'guess' }));
    const [failure] = await broker.authFailures();
    assert.equal(failure.login, 'app');
    assert.ok(!JSON.stringify(failure).includes('guess'), 'a passcode never shows');
    const client = await connect(broker, { login: 'app', passcode: 'secret' });
    const refused = new Promise((resolve) => (client.onStompError = resolve));
    client.publish({ destination: '/queue/theirs', body: 'no' });
    assert.match((await refused).headers.message, /theirs|permission|denied/i);
    const [denial] = await broker.permissionDenials();
    assert.equal(denial.destination, '/queue/theirs');
    await client.deactivate();
  },
));

test('a bad option fails the start with the binary\'s own message', async () => {
  await assert.rejects(startBroker({ maxFrameSize: 'lots' }), /invalid value 'lots' for '--max-frame-size/);
});

test('faults, kicks and restarts', withBroker(async (broker) => {
  const fault = await broker.addFault({ kind: 'drop', direction: 'out', command: 'RECEIPT', times: 1 });
  assert.deepEqual((await broker.faults()).map((f) => f.id), [fault.id]);
  await broker.removeFault(fault);
  assert.deepEqual(await broker.faults(), []);
  const client = await connect(broker);
  const closed = new Promise((resolve) => (client.onWebSocketClose = resolve));
  const [connection] = await broker.connections();
  await broker.kick(connection);
  await closed;
  await client.deactivate();
  await broker.restart({ downMs: 0 });
  await broker.reset({ queues: true });
  assert.deepEqual(await broker.connections(), []);
}));

describe('useBroker from stompbox/node-test', () => {
  let firstPid;
  const handle = useBroker({ heartBeat: [0, 0] });

  test('gives each test a broker of its own (1)', async () => {
    firstPid = handle.broker.pid;
    assert.ok(handle.broker.args.includes('--heart-beat'));
    assert.equal((await handle.broker.messages()).length, 0);
    await handle.broker.publish('/queue/left', 'over');
  });

  test('gives each test a broker of its own (2)', async () => {
    assert.notEqual(handle.broker.pid, firstPid);
    assert.ok(gone(firstPid), 'the first test\'s broker was stopped');
    assert.deepEqual(await handle.broker.messages(), []);
  });
});

describe('useBroker with the runner\'s global hooks (as Jest, Vitest and Mocha give them)', () => {
  globalThis.beforeEach = beforeEach;
  globalThis.afterEach = afterEach;
  const handle = useGlobalBroker({}, { profile: 'rabbitmq' });
  delete globalThis.beforeEach;
  delete globalThis.afterEach;

  test('starts a broker before the test', async () => {
    assert.ok(handle.broker.args.includes('rabbitmq'));
    assert.equal(await handle.broker.publish('/queue/x', 'y'), 'm-1');
  });
});

test('useBroker with no hooks to hand says what it needs', () => {
  assert.throws(() => useGlobalBroker({}), /beforeEach and afterEach/);
});

test('the stompbox command runs the packaged binary', () => {
  const help = execFileSync('npx', ['--no-install', 'stompbox', '--version'], { encoding: 'utf8' });
  assert.match(help, /^stompbox \d+\.\d+\.\d+/);
});

test('a killed test process takes its broker with it', async () => {
  const script = `
    const { startBroker } = require('stompbox');
    startBroker().then((broker) => console.log(broker.pid));
    setInterval(() => {}, 1000);
  `;
  const holder = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = await once(holder.stdout, 'data');
  const pid = Number(String(chunk).trim());
  assert.ok(!gone(pid));
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  // Node cannot wait on a process that is not its child: look, at most 10 s.
  for (let i = 0; i < 2000 && !gone(pid); i++) await delay(5);
  assert.ok(gone(pid), 'the broker outlived the killed process');
});

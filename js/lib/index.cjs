'use strict';
// stompbox for Node: starts the stompbox binary on free loopback ports and
// speaks its HTTP API. CommonJS; lib/index.mjs gives the same as an ES module.

const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { once } = require('node:events');
const path = require('node:path');
const readline = require('node:readline');

/** How long the binary has to print its ready line, in ms. */
const READY_TIMEOUT_MS = 10_000;

/** The broker could not start, stopped badly, or refused a request. */
class StompboxError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StompboxError';
  }
}

/** A wait ran out of time; its message is the broker's report (what was
 * expected, what came instead, the last frames); `arrived` holds what came. */
class WaitTimeoutError extends StompboxError {
  constructor(report, arrived = []) {
    super(report);
    this.name = 'WaitTimeoutError';
    this.report = report;
    this.arrived = arrived;
  }
}

/** The binary to run: `explicit`, else $STOMPBOX_BIN, else the one this
 * package ships for the platform, else a checkout's target/debug/stompbox. */
function findBinary(explicit) {
  if (explicit) return explicit;
  if (process.env.STOMPBOX_BIN) return process.env.STOMPBOX_BIN;
  const name = process.platform === 'win32' ? 'stompbox.exe' : 'stompbox';
  const candidates = [
    path.join(__dirname, '..', 'native', `${process.platform}-${process.arch}`, name),
    path.join(__dirname, '..', '..', 'target', 'debug', name),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new StompboxError(
    `no stompbox binary for ${process.platform}-${process.arch}: looked at ${candidates.join(', ')}; ` +
      'set STOMPBOX_BIN to one',
  );
}

const flag = (name) => '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()).replace(/_/g, '-');

/** The binary's arguments for these options. `users` maps logins to
 * passcodes, `grants` are [principal, topic, access] or "P:T:A",
 * `heartBeat` is [sendMs, receiveMs]; any other key is the binary's flag of
 * that name (`maxFrameSize: 1024` is `--max-frame-size 1024`, `true` a flag
 * alone, an array a repeated flag). */
function commandLine(options = {}) {
  const { port = 0, profile, users, grants, heartBeat, log = 'off', config, args = [], ...rest } = options;
  const line = ['--port', String(port), '--http-port', '0', '--ready-json', '--stop-on-stdin-close', '--log', log];
  if (config !== undefined) line.push('--config', String(config));
  if (profile !== undefined) line.push('--profile', profile);
  for (const [login, passcode] of Object.entries(users ?? {})) line.push('--user', `${login}:${passcode}`);
  for (const grant of grants ?? []) line.push('--grant', Array.isArray(grant) ? grant.join(':') : grant);
  if (heartBeat !== undefined) line.push('--heart-beat', `${heartBeat[0]},${heartBeat[1]}`);
  for (const [name, value] of Object.entries(rest)) {
    if (value === undefined || value === null || value === false) continue;
    if (value === true) {
      line.push(flag(name));
      continue;
    }
    for (const one of Array.isArray(value) ? value : [value]) line.push(flag(name), String(one));
  }
  return line.concat(args);
}

/** Brokers still running, killed if this process exits without stopping them. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const idOf = (thing) => (typeof thing === 'object' && thing !== null ? thing.id : thing);

/** A running stompbox broker: where it listens, and its HTTP API as calls. */
class Broker {
  constructor(child, ready, { httpToken, binary, args }) {
    this.child = child;
    this.ready = ready;
    this.binary = binary;
    this.args = args;
    this.httpToken = httpToken;
    const at = ready.stomp.lastIndexOf(':');
    /** The STOMP port's host and port. */
    this.host = ready.stomp.slice(0, at);
    this.port = Number(ready.stomp.slice(at + 1));
    /** `HOST:PORT` of the STOMP port (which serves WebSocket too). */
    this.stompAddress = ready.stomp;
    /** `tcp://HOST:PORT`. */
    this.url = `tcp://${ready.stomp}`;
    /** `ws://HOST:PORT/ws`, for stompjs's brokerURL. */
    this.wsUrl = ready.ws;
    /** The HTTP API's base URL. */
    this.httpUrl = `http://${ready.http}`;
    /** The TLS port and the CA to trust, with `tlsPort: 0`. */
    this.tlsAddress = ready.tls ?? null;
    this.caFile = ready.ca ?? null;
    this.stopped = null;
  }

  /** The broker process's id. */
  get pid() {
    return this.child.pid;
  }

  async call(method, target, { body, params } = {}) {
    if (this.stopped) throw new StompboxError('this broker is stopped');
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params ?? {})) {
      if (value !== undefined && value !== null) query.set(key, String(value));
    }
    const url = this.httpUrl + target + (query.size ? `?${query}` : '');
    const headers = this.httpToken ? { Authorization: `Bearer ${this.httpToken}` } : {};
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, response };
  }

  async json(method, target, { ok = [200], ...rest } = {}) {
    const { status, response } = await this.call(method, target, rest);
    const value = await response.json();
    if (!ok.includes(status)) throw new StompboxError(`${method} ${target}: ${status}: ${value.error ?? JSON.stringify(value)}`);
    return value;
  }

  /** Published messages (to `destination` if given), oldest first. */
  messages({ destination } = {}) {
    return this.json('GET', '/messages', { params: { destination } });
  }
  /** Messages sent in transactions that have not committed. */
  uncommitted() {
    return this.json('GET', '/messages/uncommitted');
  }
  /** One message's body as sent, as a Buffer. */
  async messageBody(messageId) {
    const { status, response } = await this.call('GET', `/messages/${encodeURIComponent(messageId)}/body`);
    if (status !== 200) throw new StompboxError((await response.json()).error);
    return Buffer.from(await response.arrayBuffer());
  }
  /** Every MESSAGE delivered, in order. */
  deliveries() {
    return this.json('GET', '/deliveries');
  }
  /** Every ACK and NACK, in order. */
  acks() {
    return this.json('GET', '/acks');
  }
  /** The active subscriptions with their counts. */
  subscriptions() {
    return this.json('GET', '/subscriptions');
  }
  /** Durable subscriptions, active or not. */
  durableSubscriptions() {
    return this.json('GET', '/durable-subscriptions');
  }
  /** Open transactions and the frames each holds. */
  transactions() {
    return this.json('GET', '/transactions');
  }
  /** Ended transactions and their outcome. */
  transactionHistory() {
    return this.json('GET', '/transactions/history');
  }
  /** Every connection, open (`closed: null`) or closed. */
  connections() {
    return this.json('GET', '/connections');
  }
  /** A connection's transcript (a connection or its id): every frame in and out. */
  frames(connection) {
    return this.json('GET', `/connections/${idOf(connection)}/frames`);
  }
  /** Connections grouped by client, with reconnects. */
  clients() {
    return this.json('GET', '/clients');
  }
  /** The ERROR frames the broker sent. */
  errors() {
    return this.json('GET', '/errors');
  }
  /** What a client did that the broker let pass. */
  protocolWarnings() {
    return this.json('GET', '/protocol-warnings');
  }
  /** CONNECTs refused for their credentials. */
  authFailures() {
    return this.json('GET', '/auth-failures');
  }
  /** SENDs and SUBSCRIBEs refused for want of a grant. */
  permissionDenials() {
    return this.json('GET', '/permission-denials');
  }
  /** Each queue's waiting and unacked messages. */
  queues({ destination } = {}) {
    return this.json('GET', '/queues', { params: { destination } });
  }
  /** What the broker holds against its memory budget. */
  memory() {
    return this.json('GET', '/memory');
  }
  /** What the broker saw, as text for a person. */
  async report() {
    const { response } = await this.call('GET', '/report');
    return response.text();
  }

  /** The messages published to `destination` once `count` are there; a
   * WaitTimeoutError (the broker's report) after `timeout` ms. */
  async waitForMessages(destination, count = 1, { timeout = 5000 } = {}) {
    const params = { destination, count, timeout_ms: timeout };
    const { status, response } = await this.call('GET', '/wait', { params });
    const value = await response.json();
    if (status === 408) throw new WaitTimeoutError(value.error, value.arrived ?? []);
    if (status !== 200) throw new StompboxError(`GET /wait: ${status}: ${value.error}`);
    return value.messages;
  }
  /** The client's record (client-id or login) once it has reconnected
   * `reconnects` times and is connected. */
  async waitForReconnects(client, reconnects = 1, { timeout = 10000 } = {}) {
    const { status, response } = await this.call('GET', '/wait', { params: { client, reconnects, timeout_ms: timeout } });
    const value = await response.json();
    if (status === 408) throw new WaitTimeoutError(value.error);
    if (status !== 200) throw new StompboxError(`GET /wait: ${status}: ${value.error}`);
    return value.client;
  }

  /** Injects a message as if a producer sent it; resolves to its message-id. */
  async publish(destination, body = '', headers = {}) {
    const answer = await this.json('POST', '/messages', { body: { destination, body, headers }, ok: [201] });
    return answer.message_id;
  }
  /** Clears the journal (and every queue, with `queues: true`). */
  async reset({ queues = false } = {}) {
    await this.json('POST', '/reset', { params: { queues: queues ? 'true' : undefined } });
  }
  /** Arms a fault: the binary's POST /faults rule ({kind: 'drop', command: 'RECEIPT', ...}). */
  addFault(rule) {
    return this.json('POST', '/faults', { body: rule, ok: [201] });
  }
  /** The armed faults and what each did. */
  faults() {
    return this.json('GET', '/faults');
  }
  /** Disarms a fault (its id, or what addFault returned). */
  async removeFault(fault) {
    await this.json('DELETE', `/faults/${idOf(fault)}`);
  }
  /** Closes a connection, with an ERROR saying `error` if given. */
  async kick(connection, { error } = {}) {
    await this.json('POST', `/connections/${idOf(connection)}/kick`, { body: error ? { error } : undefined });
  }
  /** Drops every connection and stays down `downMs`, as a restart would. */
  async restart({ downMs = 0, wipeQueues = false } = {}) {
    await this.json('POST', '/restart', { params: { down_ms: downMs, wipe_queues: wipeQueues ? 'true' : undefined } });
  }
  /** Stops accepting connections (open ones carry on). */
  async pause() {
    await this.json('POST', '/pause');
  }
  /** Accepts connections again. */
  async resume() {
    await this.json('POST', '/resume');
  }

  /** `error` with the broker's report appended to its message (what a
   * failing assertion should show); the same error, for rethrowing. */
  async explain(error) {
    if (!(error instanceof Error) || this.stopped) return error;
    let report;
    try {
      report = await this.report();
    } catch (problem) {
      report = `(the broker's report could not be read: ${problem.message})`;
    }
    error.message += `\n\nstompbox ${this.stompAddress}: what the broker saw\n${report}`;
    if (error.stack) error.stack = `${error.name}: ${error.message}\n${error.stack.split('\n').slice(1).join('\n')}`;
    return error;
  }

  /** Stops the broker (SIGTERM; SIGKILL after 10 s) and waits for it.
   * Rejects if it did not exit cleanly. */
  async stop() {
    if (!this.stopped) this.stopped = this.terminate();
    return this.stopped;
  }

  async terminate() {
    const exited = this.child.exitCode !== null || this.child.signalCode !== null
      ? [this.child.exitCode, this.child.signalCode]
      : null;
    let code = exited?.[0];
    let signal = exited?.[1];
    if (!exited) {
      const ended = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      [code, signal] = await ended;
      clearTimeout(timer);
    }
    running.delete(this.child);
    this.child.stdin.destroy();
    if (code !== 0) {
      const stderr = this.stderr.join('\n');
      throw new StompboxError(`stompbox exited with ${code ?? signal}${stderr ? `:\n${stderr}` : ''}`);
    }
  }
}

/** Starts a broker on free loopback ports and resolves once it is ready. */
async function startBroker(options = {}) {
  const { binary: explicit, httpToken, env, ...flags } = options;
  const binary = findBinary(explicit);
  if (httpToken !== undefined) flags.httpToken = httpToken;
  const args = commandLine(flags);
  // stdin stays a pipe: the broker stops when it closes (--stop-on-stdin-close),
  // which happens when this process ends, however it ends.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  child.stdin.on('error', () => {});
  const stderr = [];
  readline.createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const lines = readline.createInterface({ input: child.stdout });
  const log = [];
  let closed = false;
  child.once('close', () => (closed = true));
  const ready = await new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      child.stdin.destroy();
      running.delete(child);
      // What it wrote on stderr (its reason) is read by its close.
      const refuse = () => reject(new StompboxError(`stompbox ${why}${stderr.length ? `:\n${stderr.join('\n')}` : ''}`));
      if (closed) refuse();
      else child.once('close', refuse);
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.once('error', (error) => fail(`could not start (${binary}): ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal} before it was ready`));
    lines.once('line', (line) => {
      if (settled) return;
      let value;
      try {
        value = JSON.parse(line);
      } catch {
        return fail(`printed ${JSON.stringify(line)} instead of its ready line`);
      }
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.on('line', (more) => log.push(more));
      resolve(value);
    });
  });
  const broker = new Broker(child, ready, { httpToken, binary, args });
  broker.stderr = stderr;
  /** The traffic log so far (with `log: 'frames'`). */
  broker.log = log;
  return broker;
}

/** A test body that gets a broker of its own: `test('x', withBroker(async
 * (broker) => {...}))`. A failure carries the broker's report in its
 * message; the broker stops either way. Options first, if any. */
function withBroker(options, body) {
  if (typeof options === 'function') [options, body] = [{}, options];
  return async (...args) => {
    const broker = await startBroker(options);
    let failure;
    try {
      return await body(broker, ...args);
    } catch (error) {
      failure = await broker.explain(error);
      throw failure;
    } finally {
      try {
        await broker.stop();
      } catch (problem) {
        if (!failure) throw problem;
      }
    }
  };
}

/** A broker per test through the runner's hooks: `const stompbox =
 * useBroker({ beforeEach, afterEach }, options)`; in a test,
 * `stompbox.broker` is that test's broker. Without hooks, the runner's
 * globals (Jest, Vitest with globals, Mocha). */
function useBroker(hooks = {}, options = {}) {
  const beforeEach = hooks.beforeEach ?? globalThis.beforeEach;
  const afterEach = hooks.afterEach ?? globalThis.afterEach;
  if (typeof beforeEach !== 'function' || typeof afterEach !== 'function') {
    throw new StompboxError('useBroker needs the test runner\'s beforeEach and afterEach: useBroker({ beforeEach, afterEach })');
  }
  let current = null;
  const handle = {
    get broker() {
      if (!current) throw new StompboxError('no broker outside a test: useBroker starts one before each test');
      return current;
    },
  };
  beforeEach(async () => {
    current = await startBroker(options);
  });
  afterEach(async () => {
    const broker = current;
    current = null;
    if (broker) await broker.stop();
  });
  return handle;
}

module.exports = {
  Broker,
  StompboxError,
  WaitTimeoutError,
  commandLine,
  findBinary,
  startBroker,
  useBroker,
  withBroker,
};

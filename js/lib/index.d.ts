// Types of stompbox for Node (lib/index.cjs, lib/index.mjs).

/** [name, value] pairs, in order, repeats kept. */
export type Headers = Array<[string, string]>;

export interface BrokerOptions {
  /** The binary (default: $STOMPBOX_BIN, else the one the package ships). */
  binary?: string;
  /** The STOMP port; 0 (the default) picks a free one. */
  port?: number;
  /** 'default' | 'rocketmq' | 'activemq' | 'rabbitmq'. */
  profile?: string;
  /** Logins (access keys, for rocketmq) and their passcodes. */
  users?: Record<string, string>;
  /** [principal, topic, access] or "PRINCIPAL:TOPIC:ACCESS". */
  grants?: Array<[string, string, string] | string>;
  /** [sendMs, receiveMs] the broker offers. */
  heartBeat?: [number, number];
  /** The traffic log: 'off' (the default), 'connections', 'frames', 'all'. */
  log?: string;
  /** A TOML config file. */
  config?: string;
  /** Required on every HTTP API request when set. */
  httpToken?: string;
  /** Environment variables for the binary, beside this process's
   * (STOMPBOX_REPORT_DIR: where failed waits write HTML reports). */
  env?: { [name: string]: string };
  /** More arguments, as they are. */
  args?: string[];
  /** Any other flag of the binary, camelCase: maxFrameSize: 1024. */
  [flag: string]: unknown;
}

export interface Origin {
  kind: 'client' | 'injected' | string;
  connection?: number;
  login?: string | null;
  client_id?: string | null;
}

export interface Delivery {
  connection: number;
  subscription: string;
  seq?: number;
  message_id?: string;
  destination?: string;
  at_ms?: number;
  redelivered: boolean;
  delivery_count?: number;
}

export interface Message {
  seq: number;
  message_id: string;
  at_ms: number;
  destination: string;
  headers: Headers;
  /** The body as text, or null (then body_base64) when it is not UTF-8. */
  body: string | null;
  body_base64?: string;
  origin: Origin;
  transaction: string | null;
  status: string;
  deliveries: Delivery[];
}

export interface Ack {
  kind: 'ACK' | 'NACK';
  connection: number;
  message_id: string | null;
  subscription: string | null;
  seq: number | null;
  transaction: string | null;
  at_ms: number;
}

export interface Subscription {
  connection: number;
  id: string;
  destination: string;
  ack: string;
  selector: string | null;
  headers: Headers;
  delivered: number;
  acked: number;
  nacked: number;
  unacked: number;
}

export interface Frame {
  command: string;
  headers: Headers;
  body: string | null;
  body_base64?: string;
}

export interface Transaction {
  connection: number;
  id: string;
  begun_at_ms: number;
  frames: Frame[];
}

export interface Connection {
  id: number;
  peer: string;
  transport: string;
  version: string | null;
  login: string | null;
  principal: string | null;
  client_id: string | null;
  heart_beat: [number, number] | null;
  headers: Headers;
  opened_at_ms: number;
  closed: unknown | null;
  subscribed: Array<{ destination: string; ack: string }>;
  websocket: unknown | null;
}

export interface TranscriptEntry {
  at_ms: number;
  direction: 'in' | 'out';
  /** null for a heart-beat. */
  frame: Frame | null;
}

export interface ErrorRecord {
  at_ms: number;
  connection: number;
  message: string;
  receipt_id: string | null;
}

export interface FaultRule {
  kind: string;
  [part: string]: unknown;
}

/** A JSON object the HTTP API answers with, as it is. */
export type Json = { [key: string]: any };

export class StompboxError extends Error {}

export class WaitTimeoutError extends StompboxError {
  /** The broker's report: what was expected, what came, the last frames. */
  report: string;
  /** What did arrive. */
  arrived: Message[];
}

export class Broker {
  readonly host: string;
  readonly port: number;
  readonly stompAddress: string;
  /** tcp://HOST:PORT */
  readonly url: string;
  /** ws://HOST:PORT/ws, for stompjs's brokerURL. */
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly tlsAddress: string | null;
  readonly caFile: string | null;
  readonly pid: number | undefined;
  readonly args: string[];
  /** The traffic log so far (with log: 'frames'). */
  readonly log: string[];

  messages(filter?: { destination?: string }): Promise<Message[]>;
  uncommitted(): Promise<Message[]>;
  messageBody(messageId: string): Promise<Buffer>;
  deliveries(): Promise<Delivery[]>;
  acks(): Promise<Ack[]>;
  subscriptions(): Promise<Subscription[]>;
  durableSubscriptions(): Promise<Json[]>;
  transactions(): Promise<Transaction[]>;
  transactionHistory(): Promise<Json[]>;
  connections(): Promise<Connection[]>;
  frames(connection: number | Connection): Promise<TranscriptEntry[]>;
  clients(): Promise<Json[]>;
  errors(): Promise<ErrorRecord[]>;
  protocolWarnings(): Promise<Json[]>;
  authFailures(): Promise<Json[]>;
  permissionDenials(): Promise<Json[]>;
  queues(filter?: { destination?: string }): Promise<Json[]>;
  memory(): Promise<Json>;
  report(): Promise<string>;

  waitForMessages(destination: string, count?: number, options?: { timeout?: number }): Promise<Message[]>;
  waitForReconnects(client: string, reconnects?: number, options?: { timeout?: number }): Promise<Json>;

  publish(destination: string, body?: string, headers?: { [name: string]: string }): Promise<string>;
  reset(options?: { queues?: boolean }): Promise<void>;
  addFault(rule: FaultRule): Promise<Json>;
  faults(): Promise<Json[]>;
  removeFault(fault: number | { id: number }): Promise<void>;
  kick(connection: number | Connection, options?: { error?: string }): Promise<void>;
  restart(options?: { downMs?: number; wipeQueues?: boolean }): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;

  /** The error, its message followed by the broker's report. */
  explain<E>(error: E): Promise<E>;
  /** Stops the broker; rejects if it did not exit cleanly. */
  stop(): Promise<void>;
}

export function startBroker(options?: BrokerOptions): Promise<Broker>;
export function findBinary(explicit?: string): string;
export function commandLine(options?: BrokerOptions): string[];

export function withBroker<A extends unknown[], R>(
  body: (broker: Broker, ...args: A) => Promise<R> | R,
): (...args: A) => Promise<R>;
export function withBroker<A extends unknown[], R>(
  options: BrokerOptions,
  body: (broker: Broker, ...args: A) => Promise<R> | R,
): (...args: A) => Promise<R>;

export interface Hooks {
  beforeEach: (fn: () => Promise<void>) => unknown;
  afterEach: (fn: () => Promise<void>) => unknown;
}

export interface BrokerHandle {
  /** The current test's broker. */
  readonly broker: Broker;
}

export function useBroker(hooks?: Partial<Hooks>, options?: BrokerOptions): BrokerHandle;

declare const stompbox: {
  Broker: typeof Broker;
  StompboxError: typeof StompboxError;
  WaitTimeoutError: typeof WaitTimeoutError;
  startBroker: typeof startBroker;
  findBinary: typeof findBinary;
  commandLine: typeof commandLine;
  withBroker: typeof withBroker;
  useBroker: typeof useBroker;
};
export default stompbox;

// Compiled, not run (npm run typecheck): the stompbox package's TypeScript
// types, used as a TypeScript test suite would use them.
import { startBroker, withBroker, useBroker, WaitTimeoutError, type Broker, type Message } from 'stompbox';
import { useBroker as useNodeTestBroker } from 'stompbox/node-test';

export async function publishAndWait(): Promise<string | null> {
  const broker: Broker = await startBroker({ profile: 'rabbitmq', users: { app: 'secret' }, maxFrameSize: 1024 });
  try {
    const id: string = await broker.publish('/queue/a', 'x', { kind: 'test' });
    const [message]: Message[] = await broker.waitForMessages('/queue/a', 1, { timeout: 1000 });
    const frames = await broker.frames((await broker.connections())[0] ?? 1);
    const commands: Array<string | undefined> = frames.map((entry) => entry.frame?.command);
    const body: Buffer = await broker.messageBody(id);
    void commands;
    void body;
    return message.body;
  } catch (error) {
    if (error instanceof WaitTimeoutError) return error.report;
    throw error;
  } finally {
    await broker.stop();
  }
}

export const body: () => Promise<number> = withBroker({ tlsPort: 0 }, async (broker) => (await broker.acks()).length);
export const noOptions: () => Promise<string> = withBroker(async (broker) => broker.wsUrl);
export const handle: () => Broker = () => useBroker({ beforeEach: async () => {}, afterEach: async () => {} }).broker;
export const nodeTest: () => Broker = () => useNodeTestBroker({ log: 'frames' }).broker;

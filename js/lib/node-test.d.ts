// Types of stompbox/node-test.
import type { BrokerHandle, BrokerOptions } from './index';
export { withBroker, startBroker } from './index';

/** A broker per test of this file, through node:test's beforeEach/afterEach. */
export function useBroker(options?: BrokerOptions): BrokerHandle;

// stompbox with node:test: `const stompbox = useBroker(options)` starts a
// broker before each test of the file and stops it after; `stompbox.broker`
// is the current test's.
import { beforeEach, afterEach } from 'node:test';
import stompbox from './index.cjs';

export const { withBroker, startBroker } = stompbox;

/** A broker per test of this file, through node:test's hooks. */
export function useBroker(options = {}) {
  return stompbox.useBroker({ beforeEach, afterEach }, options);
}

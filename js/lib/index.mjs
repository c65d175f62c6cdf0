// stompbox for Node, as an ES module (the implementation is lib/index.cjs).
import stompbox from './index.cjs';

export const {
  Broker,
  StompboxError,
  WaitTimeoutError,
  commandLine,
  findBinary,
  startBroker,
  useBroker,
  withBroker,
} = stompbox;
export default stompbox;

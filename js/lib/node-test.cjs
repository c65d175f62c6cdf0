'use strict';
// stompbox with node:test, for CommonJS (see node-test.mjs).
const { beforeEach, afterEach } = require('node:test');
const stompbox = require('./index.cjs');

/** A broker per test of this file, through node:test's hooks. */
function useBroker(options = {}) {
  return stompbox.useBroker({ beforeEach, afterEach }, options);
}

module.exports = { useBroker, withBroker: stompbox.withBroker, startBroker: stompbox.startBroker };

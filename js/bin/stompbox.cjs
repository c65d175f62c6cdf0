#!/usr/bin/env node
'use strict';
// The `stompbox` command of npm scripts: runs the binary this package ships
// (or $STOMPBOX_BIN) with the same arguments, passing signals on and exiting
// as it exits.
const { spawn } = require('node:child_process');
const { findBinary } = require('../lib/index.cjs');

let binary;
try {
  binary = findBinary();
} catch (error) {
  console.error(`stompbox: ${error.message}`);
  process.exit(1);
}
const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (error) => {
  console.error(`stompbox: cannot run ${binary}: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code);
});

#!/usr/bin/env node
'use strict';
// Copies a built stompbox binary into native/PLATFORM-ARCH/, where the
// package looks for it, before `npm pack`:
//   node scripts/stage-binary.cjs ../target/release/stompbox
const { copyFileSync, chmodSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const source = process.argv[2];
if (!source) {
  console.error('usage: node scripts/stage-binary.cjs PATH_TO_STOMPBOX');
  process.exit(2);
}
const name = process.platform === 'win32' ? 'stompbox.exe' : 'stompbox';
const folder = path.join(__dirname, '..', 'native', `${process.platform}-${process.arch}`);
mkdirSync(folder, { recursive: true });
copyFileSync(source, path.join(folder, name));
chmodSync(path.join(folder, name), 0o755);
console.log(`staged ${source} as ${path.relative(process.cwd(), path.join(folder, name))}`);

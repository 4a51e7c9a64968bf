#!/usr/bin/env node
// Squid url_rewrite protocol helper: rewrite a path prefix.
// usage: squid-rewrite.js FROM-PREFIX TO-PREFIX      (e.g. /old/ /new/)
// `http://host/old/x` gets `OK rewrite-url="http://host/new/x"` (fetched instead, invisibly
// to the client); anything else, CONNECT included, gets `ERR`. Channel-IDs are echoed.
'use strict';
const readline = require('node:readline');

if (process.argv.length !== 4) {
  process.stderr.write('usage: squid-rewrite.js FROM-PREFIX TO-PREFIX\n');
  process.exit(2);
}
const [from, to] = process.argv.slice(2);
const quoted = (value) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const fields = line.split(' ');
  const channel = /^[0-9]+$/.test(fields[0]) ? `${fields.shift()} ` : '';
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(fields[0] ?? '');
  const path = match?.[3] ?? '/';
  const reply = match !== null && path.startsWith(from)
    ? `OK rewrite-url=${quoted(`${match[1]}://${match[2]}${to}${path.slice(from.length)}`)}`
    : 'ERR';
  process.stdout.write(`${channel}${reply}\n`);
});

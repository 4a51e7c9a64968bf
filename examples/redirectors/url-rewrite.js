#!/usr/bin/env node
// ExaProxy `url` protocol helper: rewrite a path prefix on the same host.
// usage: url-rewrite.js FROM-PREFIX TO-PREFIX      (e.g. /old/ /new/)
// Answers `http://<host><TO-PREFIX><rest>`: a reply naming the same host with another path
// tells ExaProxy to fetch that path instead. Other requests get an empty line.
'use strict';
const readline = require('node:readline');

if (process.argv.length !== 4) {
  process.stderr.write('usage: url-rewrite.js FROM-PREFIX TO-PREFIX\n');
  process.exit(2);
}
const [from, to] = process.argv.slice(2);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [url = '', , , method] = line.split(' ');
  const slash = url.indexOf('/');
  const host = slash === -1 ? url : url.slice(0, slash);
  const path = slash === -1 ? '/' : url.slice(slash);
  const rewrite = method !== 'CONNECT' && path.startsWith(from);
  process.stdout.write(rewrite ? `http://${host}${to}${path.slice(from.length)}\n` : '\n');
});

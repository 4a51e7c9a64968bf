#!/usr/bin/env node
// ExaProxy `url` protocol helper: deny the domains listed in a file.
// usage: url-deny.js DOMAIN-FILE [REPLY]
// A request for a listed domain (or a subdomain) gets REPLY (default `file://deny.html`);
// every other request an empty line (allowed). `#` starts a comment in DOMAIN-FILE.
'use strict';
const fs = require('node:fs');
const readline = require('node:readline');

if (process.argv.length < 3 || process.argv.length > 4) {
  process.stderr.write('usage: url-deny.js DOMAIN-FILE [REPLY]\n');
  process.exit(2);
}
const domains = new Set(
  fs.readFileSync(process.argv[2], 'utf8').split('\n')
    .map((line) => line.split('#')[0].trim().toLowerCase().replace(/\.$/, ''))
    .filter((domain) => domain !== ''),
);
const reply = process.argv[3] ?? 'file://deny.html';

function listed(host) {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  return labels.some((_, i) => domains.has(labels.slice(i).join('.')));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const host = (line.split(' ')[0] ?? '').split('/')[0];
  process.stdout.write(`${listed(host) ? reply : ''}\n`);
});

#!/usr/bin/env node
// Squid url_rewrite protocol helper: redirect requests for listed domains to a block page.
// usage: squid-deny.js DOMAIN-FILE [BLOCK-PAGE-URL]
// Listed domains (and subdomains) get `OK status=302 url="BLOCK-PAGE-URL"` (default
// http://blocked.invalid/), anything else `ERR`. Channel-IDs are echoed when present.
'use strict';
const fs = require('node:fs');
const readline = require('node:readline');

if (process.argv.length < 3 || process.argv.length > 4) {
  process.stderr.write('usage: squid-deny.js DOMAIN-FILE [BLOCK-PAGE-URL]\n');
  process.exit(2);
}
const domains = new Set(
  fs.readFileSync(process.argv[2], 'utf8').split('\n')
    .map((line) => line.split('#')[0].trim().toLowerCase().replace(/\.$/, ''))
    .filter((domain) => domain !== ''),
);
const page = process.argv[3] ?? 'http://blocked.invalid/';
// Squid reads \x inside quotes as x: escape backslashes and quotes.
const quoted = (value) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function hostOf(url) {
  let authority = url.includes('://') ? url.slice(url.indexOf('://') + 3) : url; // CONNECT: host:port
  authority = authority.split('/')[0].split('@').pop();
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  return authority.includes(':') ? authority.slice(0, authority.lastIndexOf(':')) : authority;
}

function listed(host) {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  return labels.some((_, i) => domains.has(labels.slice(i).join('.')));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const fields = line.split(' ');
  const channel = /^[0-9]+$/.test(fields[0]) ? `${fields.shift()} ` : '';
  const reply = listed(hostOf(fields[0] ?? '')) ? `OK status=302 url=${quoted(page)}` : 'ERR';
  process.stdout.write(`${channel}${reply}\n`);
});

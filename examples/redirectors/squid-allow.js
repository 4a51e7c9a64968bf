#!/usr/bin/env node
// Squid url_rewrite protocol helper: allow everything.
// Request: `[channel-ID ]URL client-ip/- - METHOD myip=IP myport=PORT`. The reply `ERR`
// means "no change"; the channel-ID (sent only with concurrency > 0) is echoed back.
'use strict';
const readline = require('node:readline');

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const first = line.split(' ')[0];
  process.stdout.write(`${/^[0-9]+$/.test(first) ? `${first} ` : ''}ERR\n`);
});

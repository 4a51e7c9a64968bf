#!/usr/bin/env node
// ExaProxy `url` protocol helper: allow everything.
// Each request line is `<host><path> <client-ip> - <METHOD> -`; an empty reply line means
// "forward unchanged". Writes to a pipe are synchronous on Linux, so each reply is flushed
// at once; the process ends when stdin closes.
'use strict';
const readline = require('node:readline');

readline.createInterface({ input: process.stdin }).on('line', () => {
  process.stdout.write('\n');
});

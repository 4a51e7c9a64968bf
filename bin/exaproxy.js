#!/usr/bin/env node
'use strict';
// The `exaproxy` command. The TypeScript sources are compiled to dist/ by `npm run build`.
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .catch((error) => {
    // No native addon fits this machine: its message is the one line a user needs
    // (src/native/load-error.ts), not a stack.
    if (error && error.code === require('../dist/native/load-error.js').NO_ADDON) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  });

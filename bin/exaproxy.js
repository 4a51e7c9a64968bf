#!/usr/bin/env node
'use strict';
// The `exaproxy` command. The TypeScript sources are compiled to dist/ by `npm run build`.
require('../dist/cli.js').main(process.argv.slice(2));

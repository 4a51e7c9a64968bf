// Runs on `npm install` in a clone (and before `npm pack`): builds the addon when no
// binary for this platform can be loaded, then compiles the TypeScript to dist/.
// Everything it and its children print goes to stderr: `npm pack --json` (and `npm publish
// --json`) run it and their stdout must stay pure JSON.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

function run(script, hint) {
  console.error(`exaproxy: npm run ${script}`);
  const r = spawnSync('npm', ['run', script], { cwd: root, stdio: ['inherit', process.stderr, 'inherit'] });
  if (r.status !== 0) {
    console.error(`exaproxy: \`npm run ${script}\` failed. ${hint}`);
    process.exit(r.status ?? 1);
  }
}

function addonLoads() {
  try {
    require('../binding.js');
    return true;
  } catch {
    return false;
  }
}

if (!addonLoads()) {
  run('build:native', 'Install Rust (https://rustup.rs, so that `cargo` is on PATH) and run `npm run build`.');
}
run('build:ts', 'Fix the TypeScript errors above, then run `npm run build:ts`.');

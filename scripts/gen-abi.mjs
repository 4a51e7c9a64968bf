// Renders src/native/abi.generated.ts from the ABI's one declaration, crates/exaproxy-http/src/abi.rs
// (through its `abi-ts` example, so the numbers are the compiled constants, never a re-parse).
// Usage: node scripts/gen-abi.mjs          write the file when it differs (npm run build)
//        node scripts/gen-abi.mjs --check  change nothing; exit 1 when the committed file differs (npm run check)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = 'src/native/abi.generated.ts';
const path = join(root, target);

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0) {
  console.error(`gen-abi: unknown option ${unknown[0]}; accepted: --check (change nothing, exit 1 when ${target} is stale)`);
  process.exit(2);
}
const check = args.includes('--check');

const cargo = spawnSync('cargo', ['run', '--quiet', '--locked', '-p', 'exaproxy-http', '--example', 'abi-ts'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (cargo.error) {
  console.error(`gen-abi: cannot run cargo (${cargo.error.message}); install Rust (https://rustup.rs)`);
  process.exit(2);
}
if (cargo.status !== 0) {
  console.error(`gen-abi: \`cargo run -p exaproxy-http --example abi-ts\` failed (exit ${cargo.status}); see its errors above`);
  process.exit(2);
}
const rendered = cargo.stdout;

let committed = '';
try {
  committed = readFileSync(path, 'utf8');
} catch {
  // Missing: written below, or reported as stale under --check.
}
if (committed === rendered) process.exit(0);
if (check) {
  console.error(`gen-abi: ${target} is out of date with crates/exaproxy-http/src/abi.rs; run \`node scripts/gen-abi.mjs\` and commit the result`);
  process.exit(1);
}
writeFileSync(path, rendered);
console.error(`gen-abi: wrote ${target}`);

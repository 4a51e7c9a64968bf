// The Rust <-> TypeScript boundary, declared once in Rust and generated from there:
// - src/native/abi.generated.ts from crates/exaproxy-http/src/abi.rs, through its `abi-ts` example
//   (so the numbers are the compiled constants, never a re-parse of the source);
// - binding.d.ts from the #[napi] signatures of crates/exaproxy-node (written by `napi build`, the
//   build:native script; only checked here).
// Usage: node scripts/gen-abi.mjs          write abi.generated.ts when it differs (npm run build)
//        node scripts/gen-abi.mjs --check  change nothing; exit 1 when either committed file differs (npm run check)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ABI = 'src/native/abi.generated.ts';
const DTS = 'binding.d.ts';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0) {
  console.error(`gen-abi: unknown option ${unknown[0]}; accepted: --check (change nothing, exit 1 when ${ABI} or ${DTS} is stale)`);
  process.exit(2);
}
const check = args.includes('--check');

/** Runs `command`; its stdout, or exits with one line saying what failed (its own errors are shown above). */
function run(what, command, argv) {
  const env = { ...process.env, CARGO_TERM_QUIET: 'true' }; // errors only, not every crate compiled
  const result = spawnSync(command, argv, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (result.error) {
    console.error(`gen-abi: cannot run ${what} (${result.error.message}); install Rust (https://rustup.rs) and run npm install`);
    process.exit(2);
  }
  if (result.status !== 0) {
    console.error(`gen-abi: ${what} failed (exit ${result.status}); see its errors above`);
    process.exit(2);
  }
  return result.stdout;
}

function read(path) {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return ''; // missing: written below, or reported as stale under --check
  }
}

const abi = run('`cargo run -p exaproxy-http --example abi-ts`', 'cargo', ['run', '--quiet', '--locked', '-p', 'exaproxy-http', '--example', 'abi-ts']);
if (!check) {
  if (read(ABI) !== abi) {
    writeFileSync(join(root, ABI), abi);
    console.error(`gen-abi: wrote ${ABI}`);
  }
  process.exit(0);
}

const stale = [];
if (read(ABI) !== abi) stale.push(`${ABI} is out of date with crates/exaproxy-http/src/abi.rs; run \`node scripts/gen-abi.mjs\``);

// binding.d.ts: what `napi build` writes from the signatures now, in a debug build (seconds once
// target/debug is warm) into a scratch folder, compared with the committed file. The loader is
// generated too (and thrown away): without it napi leaves out the declaration of its export.
// The CLI's own entry (its `bin`), found through its package.json, the one path it exports.
const napiPackage = createRequire(import.meta.url).resolve('@napi-rs/cli/package.json');
const napi = join(dirname(napiPackage), JSON.parse(readFileSync(napiPackage, 'utf8')).bin.napi);
const out = mkdtempSync(join(tmpdir(), 'exaproxy-dts-'));
try {
  run('`napi build` (declarations)', process.execPath, [
    napi, 'build', '--platform', '--manifest-path', 'crates/exaproxy-node/Cargo.toml', '--package-json-path', 'package.json',
    '-o', out, '--js', 'binding.js', '--dts', DTS,
  ]);
  if (read(DTS) !== readFileSync(join(out, DTS), 'utf8')) {
    stale.push(`${DTS} is out of date with the #[napi] signatures of crates/exaproxy-node; run \`npm run build:native\``);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

for (const line of stale) console.error(`gen-abi: ${line} and commit the result`);
process.exit(stale.length > 0 ? 1 : 0);

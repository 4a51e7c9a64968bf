/**
 * exaproxy as a user gets it: the main package and the platform package built here are
 * published to a local npm registry (verdaccio) by the release workflow's own step
 * (scripts/publish.mjs), then `npx exaproxy@<version>` and
 * `npm install -g exaproxy` are run against it from an empty folder, with no Rust on PATH
 * and a fresh npm cache. The six other platform packages do not exist in that registry:
 * npm must skip them as the optional dependencies they are.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseTriple } from '@napi-rs/cli';
import { ROOT } from '../helpers/exaproxy';
import { curl, freePort, startOrigin, type Origin } from '../helpers/net';
import { startRegistry, type Registry } from '../helpers/registry';

const PLATFORM = 'linux-x64-gnu';
const BINARY = `exaproxy.${PLATFORM}.node`;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const skip = process.platform !== 'linux' || process.arch !== 'x64' ? 'the platform package built and published here is linux-x64-gnu' : false;

let work: string;
let registry: Registry;
let origin: Origin;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'exaproxy-registry-'));
  assert.ok(existsSync(join(ROOT, BINARY)), `${BINARY} must be built (npm run build:native)`);
  registry = await startRegistry(join(work, 'registry'));
  origin = await startOrigin((_req, res) => {
    res.end('hello from the origin\n');
    return true;
  });
  // The platform package as `napi artifacts` lays it out in the release workflow: its
  // committed npm/<platform> folder plus the binary, here the one built on this machine.
  const npmDir = join(work, 'npm');
  cpSync(join(ROOT, 'npm', PLATFORM), join(npmDir, PLATFORM), { recursive: true });
  copyFileSync(join(ROOT, BINARY), join(npmDir, PLATFORM, BINARY));
  // The release workflow's own publishing step, with the one binary there is.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'publish.mjs'), `--registry=${registry.url}`, `--npm-dir=${npmDir}`, `--only=${PLATFORM}`], {
    cwd: ROOT,
    env: registry.env(),
    stdio: 'pipe',
  });
});

after(async () => {
  await registry?.stop();
  await origin?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Flags for a proxy on `port` that may reach the test's origin (and, as root, keeps root). */
function proxyFlags(port: number): string[] {
  const user = process.getuid?.() === 0 ? ['--daemon.user=root'] : [];
  return [`--tcp4.port=${port}`, '--tcp4.host=127.0.0.1', '--web.enable=false', '--daemon.workers=1', `--security.local=127.0.0.1:${origin.port}`, ...user];
}

/** Runs `cmd args` in its own process group until it listens, curls the origin through it, stops it. */
async function proxiesThrough(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, port: number): Promise<void> {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    // npx installs first, through the registry: no hurry, only a bound against hanging.
    const deadline = Date.now() + 180_000;
    while (!/listening on/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /listening on/, `${cmd} ${args.join(' ')} did not start:\n${out}`);
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`]);
    assert.equal(r.stdout, 'hello from the origin\n', `curl through exaproxy: ${r.stderr}\n${out}`);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

function noCargo(env: NodeJS.ProcessEnv): void {
  for (const tool of ['cargo', 'rustc']) {
    assert.equal(spawnSync(tool, ['--version'], { env }).error?.message.includes('ENOENT'), true, `${tool} must not be on PATH`);
  }
}

test('the published exaproxy names the package of every napi target, at its version, as optional', { skip }, () => {
  const out = execFileSync('npm', ['view', '--json', '--registry', registry.url, `exaproxy@${VERSION}`, 'optionalDependencies'], { cwd: work, env: registry.env(), encoding: 'utf8' });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { napi: { packageName: string; targets: string[] } };
  const expected = Object.fromEntries(pkg.napi.targets.map((t) => [`${pkg.napi.packageName}-${parseTriple(t).platformArchABI}`, VERSION]));
  assert.deepEqual(JSON.parse(out), expected);
  assert.equal(Object.keys(expected).length, 7);
});

test('a plain npm publish of the folder is refused: it would lack the optionalDependencies', { skip }, () => {
  const r = spawnSync('npm', ['publish', '--dry-run', '--registry', registry.url], { cwd: ROOT, env: registry.env(), encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /exaproxy publish: publish with `node scripts\/publish\.mjs`/);
});

test('npx exaproxy@<version> from a registry, without Rust and with a fresh cache, proxies a request', { skip, timeout: 300_000 }, async () => {
  const app = join(work, 'npx-app');
  mkdirSync(app);
  const env = registry.env({ npm_config_cache: join(work, 'npx-cache') });
  noCargo(env);
  const port = await freePort();
  await proxiesThrough('npx', ['--yes', '--registry', registry.url, `exaproxy@${VERSION}`, ...proxyFlags(port)], app, env, port);
  // npm fetched the one platform package that fits and skipped the six that do not exist.
  const npx = join(work, 'npx-cache', '_npx');
  const [hash] = readdirSync(npx);
  assert.deepEqual(readdirSync(join(npx, hash!, 'node_modules', '@exaproxy')), [`exaproxy-${PLATFORM}`]);
});

test('npm install -g from a registry gives an exaproxy command whose addon comes from the platform package', { skip, timeout: 300_000 }, async () => {
  const prefix = join(work, 'global');
  const env = registry.env();
  noCargo(env);
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--registry', registry.url, `exaproxy@${VERSION}`], { cwd: work, env, stdio: 'pipe' });
  const bin = join(prefix, 'bin', 'exaproxy');
  assert.equal(execFileSync(bin, ['-v'], { env, encoding: 'utf8' }).trim(), `exaproxy ${VERSION}`);
  const pkg = join(prefix, 'lib', 'node_modules', 'exaproxy');
  // Not a local build next to binding.js: the prebuilt package's binary.
  assert.equal(existsSync(join(pkg, BINARY)), false);
  assert.ok(existsSync(join(pkg, 'node_modules', '@exaproxy', `exaproxy-${PLATFORM}`, BINARY)));
  const consumed = execFileSync(
    process.execPath,
    ['-e', "const b=require('./binding.js'); const t=new Uint32Array(600); process.stdout.write(String(b.parseRequest(Buffer.from('GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'),0,t)))"],
    { cwd: pkg, env, encoding: 'utf8' },
  );
  assert.equal(consumed, '27'); // the whole 27-byte head
  const port = await freePort();
  await proxiesThrough(bin, proxyFlags(port), work, env, port);
});

/** Runs an installed exaproxy that cannot start → its stderr lines, after checking it exits 1 with one line. */
function oneLineFailure(args: string[], env: NodeJS.ProcessEnv): string {
  // http.connections within any open-file limit: a machine whose limit is low would add its own line.
  const r = spawnSync(process.execPath, [...args, '--http.connections=1000'], { cwd: work, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, `exit status; stderr:\n${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Cannot find native binding|wasm32|\n\s+at /);
  return lines[0]!;
}

test('installed with --omit=optional, exaproxy says in one line which package it lacks and what to do', { skip, timeout: 300_000 }, () => {
  const app = join(work, 'omit-optional');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  const env = registry.env();
  execFileSync('npm', ['install', '--omit=optional', '--registry', registry.url, `exaproxy@${VERSION}`], { cwd: app, env, stdio: 'pipe' });
  assert.equal(existsSync(join(app, 'node_modules', '@exaproxy')), false);
  const line = oneLineFailure([join(app, 'node_modules', 'exaproxy', 'bin', 'exaproxy.js'), '--tcp4.port=0'], env);
  assert.ok(line.startsWith(`exaproxy: no native addon for ${PLATFORM}: `), line);
  assert.ok(line.includes(`@exaproxy/exaproxy-${PLATFORM}, which is not installed`), line);
  assert.ok(line.includes('optional dependencies enabled'), line);
  // An installed package has no Rust sources: building means a clone.
  assert.ok(line.includes('clone'), line);
});

test('on a platform with no prebuilt binary, exaproxy names it and the platforms that have one', { skip, timeout: 300_000 }, () => {
  const prefix = join(work, 'global'); // installed by the test above when run in order; installed again otherwise
  const env = registry.env();
  if (!existsSync(join(prefix, 'bin', 'exaproxy'))) {
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--registry', registry.url, `exaproxy@${VERSION}`], { cwd: work, env, stdio: 'pipe' });
  }
  // The real loader on a machine it has no binary for: only process.arch differs.
  const preload = join(work, 'riscv64.js');
  writeFileSync(preload, "Object.defineProperty(process, 'arch', { value: 'riscv64' });\n");
  const line = oneLineFailure(['-r', preload, join(prefix, 'lib', 'node_modules', 'exaproxy', 'bin', 'exaproxy.js'), '--tcp4.port=0'], env);
  assert.ok(line.startsWith('exaproxy: no native addon for linux-riscv64-gnu (prebuilt for '), line);
  assert.ok(line.includes(PLATFORM) && line.includes('darwin-arm64') && line.includes('@exaproxy/exaproxy-linux-riscv64-gnu'), line);
  assert.ok(!line.includes('optional dependencies'), `no package to install exists for it: ${line}`);
});

test('node_modules installed on a musl system and used on glibc: exaproxy names the mismatch in one line', { skip, timeout: 300_000 }, () => {
  const app = join(work, 'libc-mismatch');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  const env = registry.env();
  execFileSync('npm', ['install', '--registry', registry.url, `exaproxy@${VERSION}`], { cwd: app, env, stdio: 'pipe' });
  // What npm leaves on Alpine (linux-x64-musl), laid out by hand: only the gnu binary is real here.
  const scope = join(app, 'node_modules', '@exaproxy');
  const musl = join(scope, 'exaproxy-linux-x64-musl');
  renameSync(join(scope, `exaproxy-${PLATFORM}`), musl);
  renameSync(join(musl, BINARY), join(musl, 'exaproxy.linux-x64-musl.node'));
  const manifest = JSON.parse(readFileSync(join(musl, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(musl, 'package.json'), JSON.stringify({ ...manifest, name: '@exaproxy/exaproxy-linux-x64-musl', main: 'exaproxy.linux-x64-musl.node', libc: ['musl'] }));
  const line = oneLineFailure([join(app, 'node_modules', 'exaproxy', 'bin', 'exaproxy.js'), '--tcp4.port=0'], env);
  assert.ok(line.startsWith(`exaproxy: no native addon for ${PLATFORM}: `), line);
  assert.ok(line.includes('@exaproxy/exaproxy-linux-x64-musl is installed, but it is for musl and this system uses glibc'), line);
  assert.ok(line.includes('install exaproxy again on this machine'), line);
});

test('the release job: napi artifacts lays out the seven binaries, then publish.mjs publishes each platform package before exaproxy, keeping those already there', { skip, timeout: 300_000 }, () => {
  // A copy of the checkout (napi artifacts writes into it); stand-in binaries, as nothing is
  // loaded: the job's layout and order are what is checked, with npm publish --dry-run.
  const copy = join(work, 'release-job');
  cpSync(ROOT, copy, { recursive: true, filter: (src) => !/\/(node_modules|target|\.git)$/.test(src) && !src.endsWith('.node') });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { napi: { packageName: string; binaryName: string; targets: string[] } };
  for (const triple of pkg.napi.targets) {
    const abi = parseTriple(triple).platformArchABI;
    mkdirSync(join(copy, 'artifacts', `bindings-${triple}`), { recursive: true });
    writeFileSync(join(copy, 'artifacts', `bindings-${triple}`, `${pkg.napi.binaryName}.${abi}.node`), `stand-in for ${abi}\n`);
  }
  const env = registry.env({ PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` });
  execFileSync('npm', ['run', 'artifacts'], { cwd: copy, env, stdio: 'pipe' });
  for (const triple of pkg.napi.targets) {
    const abi = parseTriple(triple).platformArchABI;
    assert.ok(existsSync(join(copy, 'npm', abi, `${pkg.napi.binaryName}.${abi}.node`)), `npm/${abi} has its binary`);
  }
  // The registry already has linux-x64-gnu and exaproxy (published above): as in a re-run of
  // the job after a partial failure, those are kept and the others published, in order.
  const r = spawnSync(process.execPath, [join(copy, 'scripts', 'publish.mjs'), '--dry-run', `--registry=${registry.url}`], { cwd: copy, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const published = r.stdout.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));
  const others = pkg.napi.targets.map((t) => parseTriple(t).platformArchABI).filter((abi) => abi !== PLATFORM);
  assert.deepEqual(published, others.map((abi) => `${pkg.napi.packageName}-${abi}@${VERSION}`));
  const kept = r.stderr.split('\n').filter((l) => l.endsWith('is already published: kept'));
  assert.deepEqual(kept, [`exaproxy publish: ${pkg.napi.packageName}-${PLATFORM} ${VERSION} is already published: kept`, `exaproxy publish: exaproxy ${VERSION} is already published: kept`]);
});

test('a platform package whose binary does not load: exaproxy names the file and why, in one line', { skip, timeout: 300_000 }, () => {
  const app = join(work, 'broken-binary');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  const env = registry.env();
  execFileSync('npm', ['install', '--registry', registry.url, `exaproxy@${VERSION}`], { cwd: app, env, stdio: 'pipe' });
  // A download cut short, or a file damaged on disk.
  const file = join(app, 'node_modules', '@exaproxy', `exaproxy-${PLATFORM}`, BINARY);
  writeFileSync(file, 'not an ELF file\n');
  const line = oneLineFailure([join(app, 'node_modules', 'exaproxy', 'bin', 'exaproxy.js'), '--tcp4.port=0'], env);
  assert.ok(line.startsWith(`exaproxy: the native addon for ${PLATFORM} in ${file} does not load (`), line);
  assert.match(line, /invalid ELF header|file too short/);
  assert.ok(line.includes('Fix: install exaproxy again'), line);
});

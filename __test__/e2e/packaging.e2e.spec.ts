/**
 * Packaging proof: the main package and the linux-x64-gnu platform package, packed with
 * `npm pack` and installed into an empty folder with no Rust toolchain on PATH, give a
 * working `exaproxy` command.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/exaproxy';

const PLATFORM = 'linux-x64-gnu';

test('npm pack + install without Rust gives a working exaproxy command', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the platform package tested here is linux-x64-gnu' : false }, () => {
  const work = mkdtempSync(join(tmpdir(), 'exaproxy-pack-'));
  const binary = `exaproxy.${PLATFORM}.node`;
  assert.ok(existsSync(join(ROOT, binary)), `${binary} must be built (npm run build:native)`);

  // The platform package: the committed npm/<platform> folder plus the built binary.
  const platformDir = join(work, 'platform');
  cpSync(join(ROOT, 'npm', PLATFORM), platformDir, { recursive: true });
  copyFileSync(join(ROOT, binary), join(platformDir, binary));
  const pack = (dir: string): string => {
    const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: dir, encoding: 'utf8' });
    return join(work, out.trim().split('\n').pop()!);
  };
  const platformTgz = pack(platformDir);
  // The main package, as published: its `prepare` compiled dist/ (run here too, to be sure).
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT });
  const mainTgz = pack(ROOT);

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  // No cargo, no rustc: only the directories of node, npm and the base system.
  const PATH = [join(process.execPath, '..'), '/usr/bin', '/bin'].join(':');
  assert.equal(spawnSync('cargo', ['--version'], { env: { PATH } }).error?.message.includes('ENOENT'), true, 'cargo must not be on PATH');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', mainTgz, platformTgz], {
    cwd: app,
    env: { ...process.env, PATH },
    stdio: 'pipe',
  });
  // The local build next to binding.js must not be what gets loaded.
  assert.equal(existsSync(join(app, 'node_modules', 'exaproxy', binary)), false);
  const version = execFileSync(join(app, 'node_modules', '.bin', 'exaproxy'), ['-v'], { env: { PATH }, encoding: 'utf8' });
  const expected = (JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: ROOT, encoding: 'utf8' })) as { version: string }).version;
  assert.equal(version.trim(), `exaproxy ${expected}`);
  // And the addon really loads from the platform package.
  const loaded = execFileSync(
    process.execPath,
    ['-e', "const b=require('exaproxy/binding.js'); const t=new Uint32Array(600); process.stdout.write(String(b.parseRequest(Buffer.from('GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'),0,t)))"],
    { cwd: app, env: { PATH }, encoding: 'utf8' },
  );
  assert.equal(loaded, '27'); // the whole 27-byte head was consumed
});

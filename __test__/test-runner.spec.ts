/**
 * `npm test` (scripts/test.mjs) on a machine that lacks what the tests need: it stops before
 * building or running anything, with one line naming what is missing and how to get it.
 * (Where it can, as root on Debian, it installs the peers instead: scripts/peers.mjs.)
 * "Missing" is made by running it with an empty PATH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/exaproxy';

const TEST = join(ROOT, 'scripts', 'test.mjs');

/** Runs the test runner with nothing on PATH (node by its absolute path). */
function runner(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TEST, ...args], { cwd: ROOT, env: { ...process.env, PATH: '/nonexistent' }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLine(r: { status: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '', 'nothing was built or run');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  return lines[0]!;
}

test('without cargo, npm test says in one line what to install (or which flags test a prebuilt addon)', () => {
  const line = oneLine(runner(['--no-cargo', 'config']));
  assert.match(line, /^exaproxy test: cargo is missing: install Rust \(https:\/\/rustup\.rs\)/);
  assert.ok(line.includes('--no-build --no-cargo'), line);
});

// --no-install stands for a runner that may not install (not root, not Debian): the same line.
test('missing peers that it may not install stop npm test at once, one line naming them and their Debian packages', () => {
  // A unit spec needs only the basic tools…
  const unit = oneLine(runner(['--no-cargo', '--no-build', '--no-install', 'config.spec']));
  assert.match(unit, /^exaproxy test: missing curl, openssl, python3, logger \(bsdutils\).* needed by 1 spec file\(s\); not installed \(--no-install\)\. /);
  assert.ok(unit.includes('apt-get install curl openssl python3 bsdutils'), unit);
  assert.ok(!unit.includes('chromium'), `a unit spec does not need the e2e peers: ${unit}`);
  // …an end-to-end spec needs the real peers too.
  const e2e = oneLine(runner(['--no-build', '--no-install', 'e2e/haproxy']));
  for (const peer of ['chromium', 'squidGuard (squidguard)', 'wrk']) assert.ok(e2e.includes(peer), `${peer} in: ${e2e}`);
});

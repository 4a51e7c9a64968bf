/**
 * Redirector defects found by probing the whole proxy (issue 9), each with the helper that
 * showed it, through the real proxy and curl:
 * - a `url` helper printing an empty line (permit) at start, then denying everything, let
 *   most requests through, and was respawned in a busy loop without a word in the log;
 * - a hung helper held its client for twice `redirector.timeout`.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
const work = mkdtempSync(join(tmpdir(), 'exaproxy-redirector-defects-'));

before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

/** A /bin/sh helper that notes each start in `<name>.spawns`, then runs `body`. */
function helper(name: string, body: string): { path: string; spawns: () => number } {
  const path = join(work, `${name}.sh`);
  const spawns = join(work, `${name}.spawns`);
  writeFileSync(path, `#!/bin/sh\necho $$ >> ${spawns}\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, spawns: () => (existsSync(spawns) ? readFileSync(spawns, 'latin1').split('\n').filter(Boolean).length : 0) };
}

/** Status code and curl's own total time (seconds) of a GET through the proxy. */
async function timedGet(proxy: RunningExaproxy, path: string): Promise<{ status: number; seconds: number }> {
  const r = await curl(['-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-x', proxy.url, `http://127.0.0.1:${origin.port}${path}`]);
  const [status, seconds] = r.stdout.split(' ').map(Number);
  return { status: status!, seconds: seconds! };
}

/** The main log's ERROR lines (it goes to stdout by default). */
function errorLines(proxy: RunningExaproxy): Array<{ msg: string; line?: string; program?: string }> {
  return proxy.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((entry) => entry.level === 'error');
}

describe('a url helper that prints an empty line (permit) at start', () => {
  let proxy: RunningExaproxy;
  const greeting = helper('greets-then-denies', "echo ''\nwhile read -r line; do echo 'file://deny.html'; done");

  before(async () => {
    proxy = await startExaproxy(testArgs([
      '--redirector.enable=true',
      `--redirector.program=${greeting.path}`,
      '--redirector.protocol=url',
      '--redirector.minimum=1',
      '--redirector.maximum=2',
      `--security.local=127.0.0.1:${origin.port}`,
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('10 requests are all denied; respawns back off; one ERROR line names the program and the line', async () => {
    const seen = origin.requests.length;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await timedGet(proxy, `/greeting/${i}`)).status);
    assert.deepEqual(statuses, Array(10).fill(503), `every request denied by redirector.failure: ${statuses.join(' ')}`);
    assert.equal(origin.requests.length, seen, 'nothing reached the origin');
    await new Promise((r) => setTimeout(r, 2000));
    // Without a back-off this helper was respawned about 150 times a second.
    assert.ok(greeting.spawns() < 25, `respawns are backed off: ${greeting.spawns()} spawns`);
    const named = errorLines(proxy).filter((e) => e.program === greeting.path && e.line === '');
    assert.equal(named.length, 1, `one ERROR line for the helper:\n${proxy.stdout()}`);
    assert.match(named[0]!.msg, new RegExp(`${greeting.path.replaceAll('.', '\\.')}" wrote "" before any request was written to it`));
  });
});

describe('a helper that never answers', () => {
  let proxy: RunningExaproxy;
  const hung = helper('never-answers', 'while read -r line; do :; done');

  before(async () => {
    proxy = await startExaproxy(testArgs([
      '--redirector.enable=true',
      `--redirector.program=${hung.path}`,
      '--redirector.protocol=url',
      '--redirector.minimum=2',
      '--redirector.maximum=2',
      '--redirector.timeout=1',
      `--security.local=127.0.0.1:${origin.port}`,
    ]));
  });
  after(async () => {
    await proxy?.stop();
  });

  test('the client gets redirector.failure after redirector.timeout, not twice that', async () => {
    for (const path of ['/hung/1', '/hung/2']) {
      const { status, seconds } = await timedGet(proxy, path);
      assert.equal(status, 503);
      assert.ok(seconds > 1, `waited the timeout (${seconds} s)`);
      // The timeout is the whole wait (a retry on another helper included); the bound is loose for a loaded machine.
      assert.ok(seconds < 1.9, `answered within redirector.timeout plus a margin (${seconds} s)`);
    }
  });
});

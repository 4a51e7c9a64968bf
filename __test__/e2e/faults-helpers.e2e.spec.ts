/**
 * Helper faults (issue 15), through the real proxy and curl with real helper processes: a
 * helper stopped by SIGSTOP, one that exits in the middle of a reply, one that writes an
 * endless line, one that writes binary garbage, one that floods stderr, helpers too slow for the load. In each, no client
 * waits longer than redirector.timeout plus a generous margin (curl's --max-time: a curl
 * that times out fails the test), redirector.failure is what the others get, and the pool
 * serves again afterwards. Already covered in redirector-defects: a helper that never
 * answers, and a line written before any request.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExaproxy, testArgs, type RunningExaproxy } from '../helpers/exaproxy';
import { curl, startOrigin, until, type Origin } from '../helpers/net';

let origin: Origin;
const work = mkdtempSync(join(tmpdir(), 'exaproxy-faults-helpers-'));

before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

/** A python3 helper of the url protocol; `answer` is the body of the loop over stdin lines. */
function helper(name: string, answer: string): string {
  const path = join(work, `${name}.py`);
  writeFileSync(path, `#!/usr/bin/python3\nimport os, sys, time\nn = 0\nfor line in sys.stdin:\n    n += 1\n${answer.replace(/^/gm, '    ')}\n`);
  chmodSync(path, 0o755);
  return path;
}

function proxyWith(program: string, extra: string[]): Promise<RunningExaproxy> {
  return startExaproxy(testArgs([
    '--redirector.enable=true',
    `--redirector.program=${program}`,
    '--redirector.protocol=url',
    '--redirector.timeout=1',
    `--security.local=127.0.0.1:${origin.port}`,
    ...extra,
  ]));
}

/**
 * A GET through the proxy: the status, or the curl error when none came. No client may
 * wait longer than redirector.timeout (1 s) plus this margin.
 */
async function get(proxy: RunningExaproxy, path: string): Promise<string> {
  const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--max-time', '6', '-x', proxy.url, `http://127.0.0.1:${origin.port}${path}`]);
  return r.code === 0 ? r.stdout : `curl exit ${r.code}`;
}

function all(proxy: RunningExaproxy, count: number, prefix: string): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => get(proxy, `${prefix}/${i}`)));
}

/** The helper processes: the children of the proxy's data path (the process itself, or its worker with daemon.supervise). */
function helperPids(proxy: RunningExaproxy): number[] {
  const children = (pid: number): number[] =>
    readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const direct = children(proxy.child.pid!);
  const worker = direct.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli-main'));
  return worker === undefined ? direct : children(worker);
}

function gone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

async function recovers(proxy: RunningExaproxy, prefix: string): Promise<void> {
  const statuses: string[] = [];
  for (let i = 0; i < 8; i++) statuses.push(await get(proxy, `${prefix}/${i}`));
  assert.deepEqual(statuses, Array(8).fill('200'), 'the pool serves again');
}

const permit = 'sys.stdout.write("\\n"); sys.stdout.flush()';

describe('a helper stopped with SIGSTOP', () => {
  let proxy: RunningExaproxy;
  before(async () => {
    proxy = await proxyWith(helper('stoppable', permit), ['--redirector.minimum=2', '--redirector.maximum=2', '--redirector.failure=deny']);
  });
  after(() => proxy?.stop());

  test('clients get 200 or redirector.failure (503) in time; the stopped helper is replaced', async () => {
    assert.deepEqual(await all(proxy, 4, '/warm'), Array(4).fill('200'));
    await until(() => helperPids(proxy).length === 2, 'two helpers');
    const [stopped] = helperPids(proxy);
    process.kill(stopped!, 'SIGSTOP');
    const statuses = await all(proxy, 20, '/stopped');
    assert.deepEqual(statuses.filter((s) => s !== '200' && s !== '503'), [], `every client answered in time: ${statuses.join(' ')}`);
    assert.ok(statuses.includes('503'), `the requests the stopped helper held got redirector.failure: ${statuses.join(' ')}`);
    await until(() => gone(stopped!), 'the stopped helper killed');
    await recovers(proxy, '/after-stop');
  });
});

describe('a helper that exits in the middle of a reply', () => {
  let proxy: RunningExaproxy;
  // Two good answers, then half a deny line and exit: that half line must not count.
  const program = helper('dies-mid-reply', `if n == 3:\n    sys.stdout.write("file://deny.ht"); sys.stdout.flush(); os._exit(1)\n${permit}`);
  before(async () => {
    proxy = await proxyWith(program, ['--redirector.minimum=1', '--redirector.maximum=2', '--redirector.failure=allow', '--redirector.pipeline=1']);
  });
  after(() => proxy?.stop());

  test('with redirector.failure=allow every client gets 200 from the origin, never the half-written deny', async () => {
    const seen = origin.requests.length;
    const statuses: string[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await get(proxy, `/dies/${i}`));
    assert.deepEqual(statuses, Array(12).fill('200'), statuses.join(' '));
    assert.equal(origin.requests.length - seen, 12, 'every request reached the origin');
  });
});

describe('a helper that writes a line without end', () => {
  let proxy: RunningExaproxy;
  const program = helper('endless-line', 'sys.stdout.write("g" * (4 << 20)); sys.stdout.flush()');
  before(async () => {
    proxy = await proxyWith(program, ['--redirector.minimum=1', '--redirector.maximum=1', '--redirector.failure=deny']);
  });
  after(() => proxy?.stop());

  test('redirector.failure (503) in time, the helper is dropped, and the log says why', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await get(proxy, `/garbage/${i}`), '503');
    assert.match(proxy.stdout(), /sent a reply longer than \d+ bytes/);
  });
});

describe('a helper that writes garbage lines', () => {
  let proxy: RunningExaproxy;
  const program = helper('garbage', 'sys.stdout.buffer.write(b"\\x00\\xff\\xfe\\x1b[2J not a reply\\n"); sys.stdout.flush()');
  before(async () => {
    proxy = await proxyWith(program, ['--redirector.minimum=1', '--redirector.maximum=1', '--redirector.failure=allow']);
  });
  after(() => proxy?.stop());

  test('each request gets the error page (503), in time, and nothing reaches the origin', async () => {
    const seen = origin.requests.length;
    for (let i = 0; i < 3; i++) assert.equal(await get(proxy, `/binary/${i}`), '503');
    assert.equal(origin.requests.length, seen, 'a reply not understood is not a permit');
  });
});

describe('a helper that floods stderr', () => {
  let proxy: RunningExaproxy;
  const program = helper('chatty', `sys.stderr.write(("noise " * 20 + "\\n") * 2000); sys.stderr.flush()\n${permit}`);
  before(async () => {
    proxy = await proxyWith(program, ['--redirector.minimum=1', '--redirector.maximum=1']);
  });
  after(() => proxy?.stop());

  test('every request is answered (the pipe is drained) and the log gets a bounded share of the noise', async () => {
    const statuses: string[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await get(proxy, `/chatty/${i}`));
    assert.deepEqual(statuses, Array(20).fill('200'));
    const logged = (proxy.stdout() + proxy.stderr()).split('noise noise').length - 1;
    assert.ok(logged < 20 * 2000 / 10, `${logged} of ${20 * 2000} stderr lines logged`);
  });
});

describe('helpers too slow for the load', () => {
  let proxy: RunningExaproxy;
  const program = helper('slow', `time.sleep(0.4)\n${permit}`);
  before(async () => {
    proxy = await proxyWith(program, ['--redirector.minimum=1', '--redirector.maximum=2', '--redirector.failure=deny', '--redirector.pipeline=1']);
  });
  after(() => proxy?.stop());

  test('40 clients at once: each gets 200 or redirector.failure (503) in time; then the pool serves again', async () => {
    const statuses = await all(proxy, 40, '/slow');
    assert.deepEqual(statuses.filter((s) => s !== '200' && s !== '503'), [], statuses.join(' '));
    assert.ok(statuses.includes('503'), `some waited past redirector.timeout: ${statuses.join(' ')}`);
    assert.ok(statuses.includes('200'), `the helpers still answered some: ${statuses.join(' ')}`);
    await recovers(proxy, '/after-slow');
  });
});

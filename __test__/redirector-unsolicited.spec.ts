// Lines no request asked for, in every protocol, with real helper programs (shell scripts
// written by the tests): a line printed at start, or on a channel-ID with nothing pending,
// must never become a verdict; the helper is replaced, with a back-off and one ERROR line.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DecideResult, RedirectorOptions } from '../src/redirector';
import { options, readLines, request, tempDir, withPool } from './fixtures/redirectors/harness';

const dir = tempDir();
after(() => dir.remove());

/** A /bin/sh helper: `body` runs after it notes its pid in `<name>.spawns`. */
function script(name: string, body: string): { program: string[]; path: string; spawns: () => number } {
  const path = join(dir.path, `${name}.sh`);
  const spawns = join(dir.path, `${name}.spawns`);
  writeFileSync(path, `#!/bin/sh\necho $$ >> ${spawns}\n${body}\n`);
  chmodSync(path, 0o755);
  return { program: [path], path, spawns: () => readLines(spawns).length };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Ten requests from the moment the pool starts (the start-up race), in bursts of two: none
 * may be permitted, the helper is respawned with a back-off, and one ERROR line names the
 * program and the line it printed.
 */
async function neverPermitted(helper: ReturnType<typeof script>, opts: Partial<RedirectorOptions>, line: string): Promise<DecideResult[]> {
  return withPool(options(helper.program, { minimum: 1, maximum: 2, timeout: 2, ...opts }), async (pool, log) => {
    const results: DecideResult[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(...await Promise.all([pool.decide(request({ path: `/a${i}` })), pool.decide(request({ path: `/b${i}` }))]));
      await pause(60);
    }
    const kinds = results.map((r) => r.decision.kind);
    assert.equal(kinds.filter((k) => k === 'permit').length, 0, `no request permitted: ${kinds.join(' ')}`);
    await pause(2000);
    assert.ok(helper.spawns() < 25, `respawns are backed off: ${helper.spawns()} spawns in about 2.5 s`);
    const errors = log.entries.filter((e) => e.level === 'error');
    const named = errors.filter((e) => e.message.includes(helper.path) && (e.fields as { line?: string }).line === line);
    assert.equal(named.length, 1, `one ERROR line names the program and the line: ${JSON.stringify(errors)}`);
    assert.ok(named[0]!.message.includes(JSON.stringify(line)), named[0]!.message);
    return results;
  });
}

test('unsolicited: url helper printing an empty line at start (permit) denies everything else', async () => {
  const helper = script('url-greeting', "echo ''\nwhile read -r line; do echo 'file://deny.html'; done");
  await neverPermitted(helper, { protocol: 'url' }, '');
});

test('unsolicited: url helper with pipelining: a start-up line is not paired with the first of several requests', async () => {
  const helper = script('url-greeting-pipeline', "echo ''\nwhile read -r line; do echo 'file://deny.html'; done");
  await neverPermitted(helper, { protocol: 'url', pipeline: 4 }, '');
});

test('unsolicited: squid helper without channel-IDs printing OK at start', async () => {
  const helper = script('squid-greeting', 'echo OK\nwhile read -r line; do echo \'OK status=302 url="http://block.example/"\'; done');
  await neverPermitted(helper, { protocol: 'squid' }, 'OK');
});

test('unsolicited: squid helper with channel-IDs printing "1 OK" at start (the first channel-ID)', async () => {
  const helper = script('squid-channel-greeting', 'echo 1 OK\nwhile read -r id rest; do echo "$id OK status=302 url=\\"http://block.example/\\""; done');
  await neverPermitted(helper, { protocol: 'squid', concurrency: 4 }, 'OK');
});

test('unsolicited: icap helper printing a 204 at start', async () => {
  const page = 'HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nblocked';
  const block = `ICAP/1.0 200 OK\\r\\nEncapsulated: res-hdr=0, null-body=${page.length}\\r\\n\\r\\n${page.replaceAll('\r\n', '\\r\\n')}`;
  const helper = script('icap-greeting', `printf 'ICAP/1.0 204 No Content\\r\\n\\r\\n'\nwhile read -r line; do case "$line" in REQMOD*) printf '${block}';; esac; done`);
  await neverPermitted(helper, { protocol: { icap: 'icap://filter/reqmod' } }, 'ICAP/1.0 204 No Content');
});

test('unsolicited: a squid reply on a channel-ID with nothing pending gets the helper replaced, not ignored', async () => {
  // Every answer comes after a line on another channel-ID: the helper does not know what it answers.
  const helper = script('squid-wrong-channel', 'while read -r id rest; do echo "$((id + 1000)) OK"; echo "$id OK status=302 url=\\"http://block.example/\\""; done');
  await withPool(options(helper.program, { protocol: 'squid', concurrency: 4, minimum: 1, maximum: 2 }), async (pool, log) => {
    await pause(300); // past the start-up quiet period: this is about a helper already running
    const result = await pool.decide(request());
    assert.equal(result.decision.kind, 'deny');
    assert.match(result.failure ?? '', /on channel-ID 1001, which no pending request has/);
    assert.ok(helper.spawns() >= 2, 'the helper was replaced');
    assert.ok(log.entries.some((e) => e.level === 'error' && e.message.includes(helper.path) && e.message.includes('channel-ID 1001')));
  });
});

/**
 * usage.enable: one access line per request, in the configured format, from the running proxy.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, startOrigin, type Origin } from '../helpers/net';

let origin: Origin;
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

async function linesFor(format: string, urls: string[], curlArgs: string[] = []): Promise<string[]> {
  const proxy = await startExaproxy(
    testArgs(['--usage.enable=true', `--usage.format=${format}`, '--usage.destination=stderr', `--security.local=127.0.0.1:${origin.port}`]),
  );
  try {
    for (const url of urls) await curl(['-s', '-o', '/dev/null', ...curlArgs, '-x', proxy.url, url]);
  } finally {
    await proxy.stop();
  }
  return proxy.stderr().split('\n').filter((l) => l.includes('/logged'));
}

test('exaproxy format: one usage line per request with method, URL and decision', async () => {
  const base = `http://127.0.0.1:${origin.port}`;
  const lines = await linesFor('exaproxy', [`${base}/logged/1`, `${base}/logged/2`, 'http://127.0.0.1:1/logged/refused']);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, new RegExp(`^ExaProxy \\d+\\s+usage\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\d+\\.\\d\\d \\S+ \\d+ 127\\.0\\.0\\.1 GET ${base}/logged/1 PERMIT/`));
  assert.match(lines[1]!, /GET \S+\/logged\/2 PERMIT\//);
  assert.match(lines[2]!, /GET http:\/\/127\.0\.0\.1:1\/logged\/refused DENY\/destination not allowed$/);
});

test('squid format: Squid access.log lines with status and bytes', async () => {
  const base = `http://127.0.0.1:${origin.port}`;
  const [line] = await linesFor('squid', [`${base}/logged/squid`]);
  assert.match(line!, new RegExp(`^\\d+\\.\\d{3}\\s+\\d+ 127\\.0\\.0\\.1 TCP_MISS/200 \\d+ GET ${base}/logged/squid - HIER_DIRECT/127\\.0\\.0\\.1 `));
});

test("combined and squid formats carry the client's Referer and User-Agent, the version and the response's type", async () => {
  const base = `http://127.0.0.1:${origin.port}`;
  const headers = ['-A', 'probe-agent/1.0', '-e', 'http://referrer.test/page'];
  const [combined] = await linesFor('combined', [`${base}/logged/combined`], headers);
  assert.match(combined!, new RegExp(`"GET ${base}/logged/combined HTTP/1\\.1" 200 \\d+ "http://referrer\\.test/page" "probe-agent/1\\.0"$`));
  const [squid] = await linesFor('squid', [`${base}/logged/type`], headers);
  assert.match(squid!, / application\/json$/);
  const [json] = await linesFor('json', [`${base}/logged/json`], headers);
  const o = JSON.parse(json!) as Record<string, unknown>;
  assert.equal(o.userAgent, 'probe-agent/1.0');
  assert.equal(typeof o.clientId, 'number');
});

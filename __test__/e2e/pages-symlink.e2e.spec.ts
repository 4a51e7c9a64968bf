/**
 * web.html templates are read only from inside the folder: a symbolic link in it that points
 * elsewhere is not followed (the built-in page is sent), one pointing inside still works.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startExaproxy, testArgs } from '../helpers/exaproxy';
import { curl, freePort, parseDump } from '../helpers/net';

const work = mkdtempSync(join(tmpdir(), 'exaproxy-pages-'));

/** The page a client gets when the web server cannot be reached (noconnect.html, 502). */
async function noconnectPage(html: string): Promise<{ status: number; body: string }> {
  const closed = await freePort();
  const proxy = await startExaproxy(testArgs([`--web.html=${html}`, `--security.local=127.0.0.1:${closed}`]));
  try {
    const r = parseDump((await curl(['-i', '-x', proxy.url, `http://127.0.0.1:${closed}/x`])).stdout);
    return { status: r.status, body: r.body };
  } finally {
    await proxy.stop();
  }
}

test('a web.html template that is a symbolic link out of the folder is not read', async () => {
  const secret = join(work, 'secret.txt');
  writeFileSync(secret, 'OUTSIDE-SECRET %(host)s\n');
  const outward = join(work, 'outward');
  mkdirSync(outward);
  symlinkSync(secret, join(outward, 'noconnect.html'));
  const leaked = await noconnectPage(outward);
  assert.equal(leaked.status, 502);
  assert.doesNotMatch(leaked.body, /OUTSIDE-SECRET/);
  assert.match(leaked.body, /Cannot contact website/, 'the built-in page instead');

  const inward = join(work, 'inward');
  mkdirSync(inward);
  writeFileSync(join(inward, 'real.html'), '<p>OWN PAGE for %(host)s</p>\n');
  symlinkSync('real.html', join(inward, 'noconnect.html'));
  const own = await noconnectPage(inward);
  assert.equal(own.status, 502);
  assert.match(own.body, /OWN PAGE for 127\.0\.0\.1/, 'a link inside the folder is still followed');
});

// squidGuard (Debian package) as a Squid-protocol helper of the redirector pool: a blocked
// domain gets the configured `302:` redirect, a listed rewrite gets rewrite-url, others pass.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { options, request, tempDir, withPool } from '../fixtures/redirectors/harness';
import { buildBlacklist, ensureSquidGuard } from '../fixtures/redirectors/squidguard';

test('squidGuard as a squid helper (concurrency 0): blocked → 302 redirect, listed → rewrite, others → permit', async () => {
  const squidGuard = ensureSquidGuard();
  const dir = tempDir();
  try {
    const { config, logdir } = buildBlacklist(squidGuard, dir.path, { blocked: ['bad.example'], rewritten: ['old.example'] });
    const opts = options([squidGuard, '-c', config], { protocol: 'squid', concurrency: 0, minimum: 1, maximum: 2 });
    await withPool(opts, async (pool) => {
      const blocked = await pool.decide(request({ host: 'www.bad.example', path: '/x?y=1' }));
      const target = 'http://blocked.test/denied?url=http://www.bad.example/x?y=1&target=blocked';
      assert.deepEqual(blocked.decision, { kind: 'redirect', url: target, status: 302 });
      assert.equal(blocked.verdict, `OK status=302 url="${target}"`);

      const tunnel = await pool.decide(request({ method: 'CONNECT', scheme: 'https', host: 'bad.example', port: 443, path: '/' }));
      assert.deepEqual(tunnel.decision, { kind: 'redirect', url: 'http://blocked.test/denied?url=bad.example:443&target=blocked', status: 302 });

      const rewritten = await pool.decide(request({ host: 'old.example', path: '/a' }));
      assert.deepEqual(rewritten.decision, { kind: 'rewrite', url: 'http://safe.test/instead?from=http://old.example/a' });

      const allowed = await pool.decide(request({ host: 'good.example', path: '/' }));
      assert.deepEqual(allowed.decision, { kind: 'permit' });
      assert.equal(allowed.verdict, 'ERR');

      // Several at once: concurrency 0 means one request per squidGuard process, the pool grows.
      const burst = await Promise.all(['a', 'b', 'c', 'd'].map((label) => pool.decide(request({ host: `${label}.bad.example` }))));
      for (const result of burst) assert.equal(result.decision.kind, 'redirect');
      assert.equal(pool.stats().failures, 0);
    });
    assert.match(readFileSync(join(logdir, 'squidGuard.log'), 'utf8'), /squidGuard .* started/);
  } finally {
    dir.remove();
  }
});

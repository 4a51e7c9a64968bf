// Squid without a cache: `cache deny all`, no memory cache, no cache_dir, no access log, one worker, in
// the foreground (-N), with its pid file and logs in the temp dir. For the helper scenario it runs the
// allow-all helper as url_rewrite_program with the same number of children as the other peers.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runText, startProcess, stopProcess, waitForPort } from '../proc';
import type { PeerSpec } from './types';

export const squid: PeerSpec = {
  name: 'squid',
  description: 'Squid, no cache, one worker (with the helper scenario: url_rewrite_program)',
  debian: { squid: 'squid' },
  helpers: ['squid'],
  connect: true,
  pinned: true,
  version: () => runText('squid', ['-v']).text.split('\n')[0] ?? 'unknown',
  async start(context) {
    // Squid started as root drops to its cache_effective_user, which must still write its pid file here.
    chmodSync(context.dir, 0o777);
    const helper =
      context.helper === undefined
        ? ''
        : `url_rewrite_program ${(context.helperCommand ?? []).join(' ')}
url_rewrite_children ${context.helperChildren} startup=${context.helperChildren} idle=1 concurrency=0
url_rewrite_bypass off
`;
    const config = `http_port 127.0.0.1:${context.port}
workers 1
pid_filename ${join(context.dir, 'squid.pid')}
cache deny all
cache_mem 0 MB
access_log none
cache_store_log none
cache_log ${join(context.dir, 'cache.log')}
coredump_dir ${context.dir}
netdb_filename none
pinger_enable off
shutdown_lifetime 0 seconds
max_filedescriptors 20000
visible_hostname exaproxy-bench
http_access allow localhost
http_access deny all
${helper}`;
    const path = join(context.dir, 'squid.conf');
    writeFileSync(path, config);
    const started = startProcess(context.core, 'squid', ['-N', '-f', path]);
    await waitForPort(context.port, started, 'squid');
    return { pid: started.child.pid as number, child: started.child, stop: () => stopProcess(started.child, 5000) };
  },
};

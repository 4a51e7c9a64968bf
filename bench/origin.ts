// The origin server every peer forwards to: nginx with its own config, pid and log paths in a temp dir,
// one worker, in the foreground, serving a tiny response and two static files over keep-alive.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, stopProcess, waitForPort, type Started } from './proc';

/** The documents the scenarios fetch, with their exact body sizes (the preflight checks them). */
export const DOCUMENTS = {
  small: { path: '/small', bytes: 13 },
  '100k': { path: '/100k.bin', bytes: 100 * 1024 },
  '1m': { path: '/1m.bin', bytes: 1024 * 1024 },
} as const;
export type DocumentName = keyof typeof DOCUMENTS;

export interface Origin {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startOrigin(dir: string, core: string | undefined): Promise<Origin> {
  const root = join(dir, 'origin');
  // nginx workers run as an unprivileged user, which must reach the files through the temp dir.
  chmodSync(dir, 0o755);
  const html = join(root, 'html');
  mkdirSync(join(root, 'logs'), { recursive: true });
  mkdirSync(html, { recursive: true });
  writeFileSync(join(html, 'small'), 'hello, world\n');
  writeFileSync(join(html, '100k.bin'), Buffer.alloc(DOCUMENTS['100k'].bytes, 'a'));
  writeFileSync(join(html, '1m.bin'), Buffer.alloc(DOCUMENTS['1m'].bytes, 'b'));
  const port = await freePort();
  // keepalive_requests/timeout are raised so the origin never closes a proxy's pooled connection
  // during a run (nginx's defaults would every 1000 requests); worker_connections covers the idle test.
  const config = `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${join(root, 'nginx.pid')};
error_log ${join(root, 'logs', 'error.log')} error;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path ${join(root, 'body')};
  proxy_temp_path ${join(root, 'proxy')};
  fastcgi_temp_path ${join(root, 'fastcgi')};
  uwsgi_temp_path ${join(root, 'uwsgi')};
  scgi_temp_path ${join(root, 'scgi')};
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${html};
    location = /small { default_type text/plain; }
  }
}
`;
  const configPath = join(root, 'nginx.conf');
  writeFileSync(configPath, config);
  const started: Started = startProcess(core, 'nginx', ['-p', root, '-c', configPath]);
  await waitForPort(port, started, 'the nginx origin');
  return {
    port,
    pid: started.child.pid as number,
    stop: () => stopProcess(started.child),
  };
}

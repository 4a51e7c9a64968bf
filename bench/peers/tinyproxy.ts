// tinyproxy in the foreground (-d) with a minimal config: no log file, loopback only.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runText, startProcess, stopProcess, waitForPort } from '../proc';
import type { PeerSpec } from './types';

export const tinyproxy: PeerSpec = {
  name: 'tinyproxy',
  description: 'tinyproxy, foreground, no log file',
  debian: { tinyproxy: 'tinyproxy' },
  connect: true,
  // tinyproxy answers HTTP/1.1 without `Connection: close` and then closes: wrk would count each as an error.
  keepAlive: false,
  pinned: true,
  version: () => runText('tinyproxy', ['-v']).text.split('\n')[0] ?? 'unknown',
  async start(context) {
    // No ConnectPort line: CONNECT is allowed to any port, the tunnel target being the origin.
    // MaxClients is raised so that the idle-connection test is not refused at tinyproxy's default of 100.
    const config = `User root
Group root
Port ${context.port}
Listen 127.0.0.1
Timeout 600
MaxClients 19000
LogLevel Critical
PidFile "${join(context.dir, 'tinyproxy.pid')}"
Allow 127.0.0.1
`;
    const path = join(context.dir, 'tinyproxy.conf');
    writeFileSync(path, config);
    const started = startProcess(context.core, 'tinyproxy', ['-d', '-c', path]);
    await waitForPort(context.port, started, 'tinyproxy');
    return { pid: started.child.pid as number, child: started.child, stop: () => stopProcess(started.child) };
  },
};

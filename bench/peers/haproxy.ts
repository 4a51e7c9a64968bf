// HAProxy as a forward proxy: the destination is taken from the absolute-form request-target
// (`set-dst url_ip` / `set-dst-port url_port`, the loopback origin needs no resolver) and the target is
// turned into origin form (`set-uri %[pathq]`) as a forward proxy does. It is the reference every
// figure is divided by. The same module also builds the front HAProxy of the chain scenario.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileLimit, runText, startProcess, stopProcess, waitForPort } from '../proc';
import type { PeerContext, PeerSpec, RunningPeer } from './types';

// HAProxy refuses to start when maxconn needs more descriptors than the limit: two per connection,
// and with splicing two more per pipe (maxpipes, a quarter of maxconn by default).
function globalSection(splice: boolean): string {
  const maxconn = Math.floor((fileLimit() - 100) / (splice ? 3 : 2));
  return `global
  nbthread 1
  maxconn ${maxconn}
${splice ? `  maxpipes ${Math.floor(maxconn / 4)}\n` : ''}  log stderr format short local0 emerg
defaults
${splice ? '  option splice-auto\n' : ''}  mode http
  timeout connect 5s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
  option http-keep-alive
  http-reuse always
`;
}
const GLOBAL = globalSection(false);

async function startHaproxy(context: PeerContext, config: string, what: string): Promise<RunningPeer> {
  const path = join(context.dir, 'haproxy.cfg');
  writeFileSync(path, config);
  const started = startProcess(context.core, 'haproxy', ['-db', '-f', path]);
  await waitForPort(context.port, started, what);
  return { pid: started.child.pid as number, child: started.child, stop: () => stopProcess(started.child) };
}

function forwardProxy(name: string, description: string, splice: boolean): PeerSpec {
  return {
    name,
    description,
    debian: { haproxy: 'haproxy' },
    connect: false,
    // Its maxconn, lowered for the pipes, is below the idle scenario's count: the clients over it
    // would wait for ever. Held connections move no bytes, so splicing has nothing to show there.
    ...(splice ? { onlyScenarios: ['small', 'close', '100k', '1m', 'chain'] } : {}),
    pinned: true,
    version: () => runText('haproxy', ['-v']).text.split('\n')[0] ?? 'unknown',
    start(context) {
      const config = `${globalSection(splice)}
frontend forward
  bind 127.0.0.1:${context.port}
  default_backend by_url
backend by_url
  http-request set-dst url_ip
  http-request set-dst-port url_port
  http-request set-uri %[pathq]
  server from_url 0.0.0.0:0
`;
      return startHaproxy(context, config, name);
    },
  };
}

export const haproxy = forwardProxy('haproxy', 'HAProxy in forward-proxy mode (set-dst/set-dst-port from the URL, set-uri to origin form)', false);

/** The zero-copy reference: the same with `option splice-auto` (kernel splice between the sockets). */
export const haproxySplice = forwardProxy('haproxy-splice', 'HAProxy as above with option splice-auto (zero-copy relay through pipes; maxconn lowered for them)', true);

/** A front HAProxy that forwards everything, request-target unchanged, to the proxy on nextPort. */
export function startFrontHaproxy(context: PeerContext, nextPort: number): Promise<RunningPeer> {
  const config = `${GLOBAL}
frontend front
  bind 127.0.0.1:${context.port}
  default_backend next
backend next
  server next 127.0.0.1:${nextPort}
`;
  return startHaproxy(context, config, 'the front haproxy');
}

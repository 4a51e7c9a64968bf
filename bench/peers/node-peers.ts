// The peers that are small Node scripts: the bare socket relay (the floor), npm `proxy` and proxy-chain.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PEERS_DIR } from '../install';
import { startProcess, stopProcess, waitForPort } from '../proc';
import type { PeerContext, PeerSpec, RunningPeer } from './types';

async function startScript(context: PeerContext, script: string, args: string[]): Promise<RunningPeer> {
  const started = startProcess(context.core, process.execPath, [join(__dirname, script), String(context.port), ...args]);
  await waitForPort(context.port, started, script);
  return { pid: started.child.pid as number, child: started.child, stop: () => stopProcess(started.child) };
}

function npmVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return `${name} ${pkg.version} (node ${process.version})`;
  } catch {
    return `${name} (not installed)`;
  }
}

export const relay: PeerSpec = {
  name: 'relay',
  description: 'bare Node socket relay to the origin, parses nothing (the floor)',
  connect: false,
  pinned: true,
  version: () => `node ${process.version}`,
  start: (context) => startScript(context, 'relay.mjs', [String(context.originPort)]),
};

export const npmProxy: PeerSpec = {
  name: 'npm-proxy',
  description: 'the npm `proxy` package, defaults',
  npm: ['proxy'],
  connect: true,
  pinned: true,
  version: () => npmVersion('proxy'),
  start: (context) => startScript(context, 'npm-proxy.mjs', [PEERS_DIR]),
};

export const proxyChain: PeerSpec = {
  name: 'proxy-chain',
  description: 'the npm `proxy-chain` package, defaults',
  npm: ['proxy-chain'],
  connect: true,
  pinned: true,
  version: () => npmVersion('proxy-chain'),
  start: (context) => startScript(context, 'proxy-chain.mjs', [PEERS_DIR]),
};

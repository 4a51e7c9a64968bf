// Every peer the bench knows, in table order. HAProxy is the reference the ratios are taken against.
import { exaproxy, exaproxyBaseline, exaproxyCopy, exaproxyJsRelay, exaproxyWorkers } from './exaproxy';
import { haproxy, haproxySplice } from './haproxy';
import { npmProxy, proxyChain, relay } from './node-peers';
import { squid } from './squid';
import { tinyproxy } from './tinyproxy';
import type { PeerSpec } from './types';

// The baseline build is a peer only when EXAPROXY_BASELINE names one.
const baseline = process.env.EXAPROXY_BASELINE ? [exaproxyBaseline] : [];

export const PEERS: PeerSpec[] = [exaproxy, ...baseline, exaproxyWorkers, exaproxyJsRelay, exaproxyCopy, haproxy, haproxySplice, squid, tinyproxy, npmProxy, proxyChain, relay];

export const REFERENCE_PEER = 'haproxy';

export function peerByName(name: string): PeerSpec | undefined {
  return PEERS.find((peer) => peer.name === name);
}

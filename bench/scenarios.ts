// The scenarios: what traffic is sent, through which peers. A scenario runs every selected peer that
// can take it; bench/README.md describes each one.
import type { DocumentName } from './origin';

export type ScenarioKind = 'wrk' | 'connect' | 'chain' | 'idle';

export interface Scenario {
  name: string;
  description: string;
  kind: ScenarioKind;
  document: DocumentName;
  /** Concurrent client connections (for `idle`: the default, lowered to what the fd limit allows). */
  connections: number;
  /** A new connection per request. */
  close?: boolean;
  /** Every request goes through the allow-all helper (peers that cannot run one are skipped, HAProxy stays as reference). */
  helper?: boolean;
}

export const SCENARIOS: Scenario[] = [
  { name: 'small', kind: 'wrk', document: 'small', connections: 50, description: 'small response (13 B), keep-alive, 50 connections' },
  { name: 'close', kind: 'wrk', document: 'small', connections: 20, close: true, description: 'small response, a new connection per request, 20 at a time' },
  { name: '100k', kind: 'wrk', document: '100k', connections: 10, description: '100 KiB response, keep-alive, 10 connections' },
  { name: '1m', kind: 'wrk', document: '1m', connections: 4, description: '1 MiB response, keep-alive, 4 connections' },
  { name: 'connect', kind: 'connect', document: '1m', connections: 4, description: 'CONNECT tunnel throughput: 1 MiB GETs inside 4 tunnels' },
  { name: 'helper', kind: 'wrk', document: 'small', connections: 50, helper: true, description: 'small keep-alive, every request checked by an allow-all helper (5 children)' },
  { name: 'chain', kind: 'chain', document: 'small', connections: 50, description: 'client → HAProxy → peer → origin: peer CPU ÷ front HAProxy CPU on the same traffic' },
  { name: 'idle', kind: 'idle', document: 'small', connections: 10000, description: 'idle keep-alive connections held open (one request each): RSS per connection' },
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}

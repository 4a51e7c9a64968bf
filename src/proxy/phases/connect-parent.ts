/**
 * Connect through a parent proxy (src/proxy/parents.ts): whether a request goes through one,
 * the CONNECT a tunnel asks the parent with, and the parent's answer to it.
 */
import { isIP } from 'node:net';
import { Flag, Method, Slot } from '../../native/abi.generated';
import { native } from '../../native/addon';
import { Outcome } from '../../log/outcome';
import type { ProxyContext } from '../context';
import { destinationAllowed } from '../destination';
import type { Exchange } from '../exchange';
import type { Parent } from '../parents';
import { refusal, type LocalAnswer } from './answer';

const { parseResponse } = native;

/** Whether this request goes through a parent: a covered destination, not a helper's intercept (that one is local). */
export function viaParent(ctx: ProxyContext, ex: Exchange, host: string): boolean {
  return ctx.parents !== null && ex.outcome !== Outcome.Intercept && ctx.parents.covers(host);
}

export const NO_PARENT: LocalAnswer = {
  status: 503,
  outcome: Outcome.Error,
  detail: 'no parent proxy up',
  close: true,
  message: 'No parent proxy can be reached at the moment (parent.proxies). Try again later.',
};

/**
 * The parent resolves names itself; an address literal is still held to destination
 * protection (security.deny, this machine's own addresses), as a direct connection would be.
 */
export function parentRefuses(ctx: ProxyContext, host: string, port: number, ownAddress: string, connect: boolean): LocalAnswer | null {
  if (isIP(host) === 0 || destinationAllowed(ctx.settings, host, host, port, ownAddress)) return null;
  return refusal(403, `The proxy does not connect to ${host}:${port}.`, 'destination not allowed', connect);
}

/** The CONNECT request a tunnel asks the parent with. */
export function connectHead(host: string, port: number, parent: Parent): Buffer {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  return parent.authorization === null ? Buffer.from(`${head}\r\n`, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), parent.authorization]);
}

export type ParentAnswer =
  | { kind: 'more' }
  /** 2xx: the tunnel is open; `rest` came after the head (from the destination). */
  | { kind: 'open'; rest: Buffer }
  | { kind: 'refused'; answer: LocalAnswer };

/** The parent's answer to the tunnel's CONNECT (`buf` from the start of its head). */
export function readParentAnswer(ctx: ProxyContext, ex: Exchange, parent: Parent, buf: Buffer): ParentAnswer {
  const table = ctx.scratch.responseTable;
  let at = 0;
  for (;;) {
    const n = parseResponse(buf.subarray(at), 0, table, Method.CONNECT);
    if (n === 0) {
      ex.partialHead = buf.subarray(at);
      return { kind: 'more' };
    }
    ex.partialHead = null;
    if (n < 0) return { kind: 'refused', answer: refusal(502, `The parent proxy ${parent.name} sent an invalid answer.`, 'invalid answer from parent', true) };
    const flags = table[Slot.FLAGS]!;
    at += n;
    if ((flags & Flag.INTERIM) !== 0) continue;
    if ((flags & Flag.TUNNEL) !== 0) return { kind: 'open', rest: buf.subarray(at) };
    const status = table[Slot.STATUS]!;
    // The parent's refusal of the destination is the client's; any other failure (its login
    // refused, its own errors) is the proxy's: 502.
    const code = status === 403 ? 403 : 502;
    return { kind: 'refused', answer: refusal(code, `The parent proxy ${parent.name} refused the tunnel to ${ex.target} (${status}).`, `parent answered ${status}`, true) };
  }
}

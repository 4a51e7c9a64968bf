/**
 * A DNS server on UDP port 53 of a loopback address (resolv.conf has no port), for tests
 * that give exaproxy a `dns.resolver` file. The first label of the name asked picks the
 * answer: `timeout.…` is never answered, `servfail.…` gets SERVFAIL, `v6only.…` has an AAAA
 * record (::1) and no A; any other name has A 127.0.0.1 and no AAAA.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeDns {
  address: string;
  port: number;
  /** `name/qtype` of every query, in order. */
  queries: string[];
  /** A resolv.conf naming this server. */
  resolvConf: string;
  close(): void;
}

const A = 1;
const AAAA = 28;

/** A loopback address of 127.53.0.0/16 for this process (two specs never share one). */
export function dnsAddress(): string {
  return `127.53.${(process.pid >> 8) & 255}.${process.pid & 255 || 1}`;
}

export async function fakeDns(host = dnsAddress()): Promise<FakeDns> {
  const queries: string[] = [];
  const server = createSocket('udp4');
  server.on('message', (q, peer) => {
    let at = 12;
    const labels: string[] = [];
    while (q[at]! !== 0) {
      labels.push(q.toString('latin1', at + 1, at + 1 + q[at]!));
      at += q[at]! + 1;
    }
    const qtype = q.readUInt16BE(at + 1);
    const question = q.subarray(12, at + 5);
    queries.push(`${labels.join('.')}/${qtype}`);
    const kind = labels[0];
    if (kind === 'timeout') return;
    const answer =
      kind === 'servfail'
        ? null
        : kind === 'v6only'
          ? qtype === AAAA ? Buffer.from([0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, ...Array(15).fill(0), 1]) : Buffer.alloc(0)
          : qtype === A ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(q.readUInt16BE(0), 0);
    header.writeUInt16BE(answer === null ? 0x8182 : 0x8180, 2); // RCODE 2: SERVFAIL
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer !== null && answer.length > 0 ? 1 : 0, 6);
    server.send(Buffer.concat([header, question, answer ?? Buffer.alloc(0)]), peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(53, host, () => resolve());
  });
  const resolvConf = join(mkdtempSync(join(tmpdir(), 'exaproxy-dns-')), 'resolv.conf');
  writeFileSync(resolvConf, `# test resolver\nnameserver ${host}\n`);
  return { address: host, port: (server.address() as AddressInfo).port, queries, resolvConf, close: () => server.close() };
}

/**
 * An ICAP service's OPTIONS answer (RFC 3507 4.10): which methods it offers, how many
 * connections it takes, how long the answer holds, its ISTag, what it wants previewed or
 * never sent. Asked over a connection of its own, read with the same reader as every answer.
 */
import { connect } from 'node:net';
import type { RawReply } from './dialect';
import { IcapReader } from './icap-reply';
import type { IcapEndpoint } from './icap-connection';
import type { IcapServiceUri } from './icap-uri';
import type { IcapResponse } from './types';

export interface ServiceOptions {
  /** Upper-case: REQMOD, RESPMOD. */
  methods: string[];
  istag: string;
  /** Connections the service takes at once; null when it sets no limit. */
  maxConnections: number | null;
  /** Seconds the answer holds; null: until the service is restarted. */
  ttl: number | null;
  /** Body bytes it wants before deciding; null when it asks for no preview. */
  preview: number | null;
  allow204: boolean;
  /** File extensions, lower-case; `*` stands for all. */
  transferPreview: string[];
  transferIgnore: string[];
  transferComplete: string[];
}

function list(value: string | undefined, upper: boolean): string[] {
  if (value === undefined) return [];
  return value.split(',').map((word) => (upper ? word.trim().toUpperCase() : word.trim().toLowerCase())).filter((word) => word !== '');
}

function count(value: string | undefined): number | null {
  return value !== undefined && /^[0-9]{1,9}$/.test(value.trim()) ? Number(value.trim()) : null;
}

/** The options of a 200 answer to OPTIONS; a sentence saying why not for anything else. */
export function readOptions(icap: IcapResponse): ServiceOptions | string {
  if (icap.code !== 200) return `answered OPTIONS with "${icap.statusLine}"`;
  const h = icap.headers;
  const methods = list(h.get('methods'), true);
  if (methods.length === 0) return 'answered OPTIONS without a Methods header';
  return {
    methods,
    istag: h.get('istag') ?? '',
    maxConnections: count(h.get('max-connections')),
    ttl: count(h.get('options-ttl')),
    preview: count(h.get('preview')),
    allow204: list(h.get('allow'), false).includes('204'),
    transferPreview: list(h.get('transfer-preview'), false),
    transferIgnore: list(h.get('transfer-ignore'), false),
    transferComplete: list(h.get('transfer-complete'), false),
  };
}

/** Whether a URL path's file extension is in an extension list (`*` matches every path). */
export function extensionListed(extensions: readonly string[], path: string): boolean {
  if (extensions.length === 0) return false;
  if (extensions.includes('*')) return true;
  const end = path.search(/[?#]/);
  const file = (end === -1 ? path : path.slice(0, end)).split('/').pop() ?? '';
  const dot = file.lastIndexOf('.');
  return dot !== -1 && extensions.includes(file.slice(dot + 1).toLowerCase());
}

/**
 * Sends OPTIONS on a new connection and reads the answer; rejects with a sentence on any
 * failure. `signal` closes the connection (exaproxy stops).
 */
export function queryOptions(service: IcapServiceUri, endpoint: IcapEndpoint, timeoutMs: number, signal: AbortSignal): Promise<ServiceOptions> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true, signal });
    const reader = new IcapReader(64 * 1024);
    const fail = (reason: string): void => {
      socket.destroy();
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail(`did not answer OPTIONS within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    socket.on('connect', () => {
      socket.write(`OPTIONS ${service.uri} ICAP/1.0\r\nHost: ${service.hostHeader}\r\nEncapsulated: null-body=0\r\n\r\n`, 'latin1');
    });
    socket.on('data', (chunk: Buffer) => {
      const out: RawReply[] = [];
      try {
        reader.push(chunk, out);
      } catch (error) {
        clearTimeout(timer);
        fail(`answered OPTIONS with bytes that are not ICAP: ${(error as Error).message}`);
        return;
      }
      if (out.length === 0) return;
      clearTimeout(timer);
      socket.end();
      const options = readOptions(out[0]!.icap!);
      if (typeof options === 'string') reject(new Error(options));
      else resolve(options);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(`could not be asked for its OPTIONS: ${error.code ?? error.message}`);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed the connection before answering OPTIONS'));
    });
  });
}

// `npm run bench:parse [-- --seconds=S --rounds=N]`: request heads per second for parse + rewrite
// through the Rust addon, side by side with Node's own llhttp path doing the same work in the same
// process: the HTTPParser that node:http uses (headers as a flat array), then a rewrite in JavaScript
// (origin-form target, hop-by-hop headers removed, Via and X-Forwarded-For added) written to a buffer.
// Both paths are checked to agree on the parsed fields before anything is timed.
import { HTTPParser } from './node-http-parser';
import { RewritePlan, parseRequest, rewriteRequest } from '../binding';

const SLOTS = { LIMIT_HEAD: 0, LIMIT_TARGET: 1, LIMIT_HEADERS: 2, METHOD_START: 7, METHOD_END: 8, TARGET_START: 9, TARGET_END: 10, HEADER_COUNT: 22 };
/** rewrite bits: ask the upstream to keep the connection open (what a pooling proxy does). */
const UPSTREAM_KEEP_ALIVE = 1 << 1;
const CLIENT_IP = '192.0.2.10';

/** A typical browser request through a forward proxy: absolute-form target, 12 header fields, ~500 bytes. */
const BROWSER = [
  'GET http://www.example.com/articles/2024/05/how-proxies-work.html?ref=home&utm_source=feed HTTP/1.1',
  'Host: www.example.com',
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'Accept-Language: en-GB,en;q=0.5',
  'Accept-Encoding: gzip, deflate',
  'Referer: http://www.example.com/',
  'Cookie: session=3f9a1c2b7d; theme=dark',
  'Proxy-Connection: keep-alive',
  'Upgrade-Insecure-Requests: 1',
  'DNT: 1',
  'Cache-Control: max-age=0',
  'Priority: u=0, i',
  '',
  '',
].join('\r\n');

const MINIMAL = 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n';

interface Sample {
  name: string;
  head: Buffer;
}

const SAMPLES: Sample[] = [
  { name: `browser (${Buffer.byteLength(BROWSER)} B, 12 headers)`, head: Buffer.from(BROWSER, 'latin1') },
  { name: `minimal (${Buffer.byteLength(MINIMAL)} B, 1 header)`, head: Buffer.from(MINIMAL, 'latin1') },
];

// ---- the addon path --------------------------------------------------------------------------

const table = new Uint32Array(32 + 5 * 64);
table[SLOTS.LIMIT_HEAD] = 65536;
table[SLOTS.LIMIT_TARGET] = 8192;
table[SLOTS.LIMIT_HEADERS] = 64;
const plan = new RewritePlan({ via: 'exaproxy' });
const out = Buffer.alloc(16384);

function addonParse(head: Buffer): number {
  const consumed = parseRequest(head, 0, table);
  if (consumed <= 0) throw new Error(`the addon's parseRequest returned ${consumed} for a valid head`);
  return consumed;
}

function addonParseRewrite(head: Buffer): number {
  addonParse(head);
  return rewriteRequest(plan, head, table, out, 0, CLIENT_IP, UPSTREAM_KEEP_ALIVE);
}

// ---- Node's path: llhttp as node:http drives it, then the rewrite in JavaScript -------------

interface NodeHead {
  minor: number;
  method: number;
  url: string;
  headers: string[];
  keepAlive: boolean;
}

let last: NodeHead | undefined;
const parser = new HTTPParser();
// node:http's server initialises its parser this way for each connection (maxHeaderSize 0 = default).
parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
parser[HTTPParser.kOnHeadersComplete] = (_major: number, minor: number, headers: string[], method: number, url: string, _status: unknown, _message: unknown, _upgrade: boolean, keepAlive: boolean): number => {
  last = { minor, method, url, headers, keepAlive };
  return 0;
};
parser[HTTPParser.kOnMessageComplete] = (): void => {};

function nodeParse(head: Buffer): NodeHead {
  last = undefined;
  const result = parser.execute(head);
  if (typeof result !== 'number' || last === undefined) throw new Error(`llhttp did not parse a valid head: ${String(result)}`);
  return last;
}

/** Fields a forward proxy must not forward (RFC 9110 §7.6.1), plus Proxy-Authorization. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization']);

/** The JavaScript equivalent of rewriteRequest, written the way a careful Node proxy would. */
function nodeRewrite(parsed: NodeHead, method: string): number {
  const url = parsed.url;
  let path = url;
  const scheme = url.indexOf('://');
  if (scheme > 0) {
    const slash = url.indexOf('/', scheme + 3);
    path = slash < 0 ? '/' : url.slice(slash);
  }
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let forwardedFor = '';
  let via = '';
  const headers = parsed.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = `${headers[i + 1]}, `;
      continue;
    }
    if (lower === 'via') {
      via = `${headers[i + 1]}, `;
      continue;
    }
    text += `${name}: ${headers[i + 1]}\r\n`;
  }
  // Like the addon: HTTP/1.1 keeps the upstream connection by default, HTTP/1.0 has to ask.
  const keepAlive = parsed.minor === 0 ? 'Connection: keep-alive\r\n' : '';
  text += `Via: ${via}1.1 exaproxy\r\nX-Forwarded-For: ${forwardedFor}${CLIENT_IP}\r\n${keepAlive}\r\n`;
  return out.write(text, 0, 'latin1');
}

const METHODS = ['DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE'];

function nodeParseRewrite(head: Buffer): number {
  const parsed = nodeParse(head);
  return nodeRewrite(parsed, METHODS[parsed.method] ?? 'GET');
}

// ---- timing ------------------------------------------------------------------------------

/** Heads per second over `seconds`, in batches so that the clock is read rarely. */
function rate(work: (head: Buffer) => unknown, head: Buffer, seconds: number): number {
  const batch = 2000;
  let done = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i += 1) work(head);
    done += batch;
    now = process.hrtime.bigint();
  }
  return done / (Number(now - start) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Both paths must see the same request before their speeds mean anything. */
function checkAgreement(sample: Sample): void {
  addonParse(sample.head);
  const parsed = nodeParse(sample.head);
  const method = sample.head.toString('latin1', table[SLOTS.METHOD_START], table[SLOTS.METHOD_END]);
  const target = sample.head.toString('latin1', table[SLOTS.TARGET_START], table[SLOTS.TARGET_END]);
  const count = table[SLOTS.HEADER_COUNT] as number;
  if (METHODS[parsed.method] !== method || parsed.url !== target || parsed.headers.length !== count * 2) {
    throw new Error(
      `the two parsers disagree on ${sample.name}: addon ${method} ${target} with ${count} headers, ` +
        `llhttp ${METHODS[parsed.method]} ${parsed.url} with ${parsed.headers.length / 2} headers`,
    );
  }
}

function parseOptions(argv: string[]): { seconds: number; rounds: number } {
  const options = { seconds: 1, rounds: 5 };
  for (const arg of argv) {
    const [name, value] = arg.split('=');
    const n = Number(value);
    if ((name === '--seconds' || name === '--rounds') && Number.isFinite(n) && n > 0) {
      options[name === '--seconds' ? 'seconds' : 'rounds'] = n;
    } else {
      throw new Error(`npm run bench:parse: unknown or invalid option "${arg}"; accepted: --seconds=S (default 1), --rounds=N (default 5)`);
    }
  }
  return options;
}

function format(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function main(): void {
  const { seconds, rounds } = parseOptions(process.argv.slice(2));
  const rewriteWorks = addonParseRewrite(SAMPLES[0]?.head as Buffer) > 0;
  console.log(`bench:parse — node ${process.version}, ${rounds} rounds of ${seconds} s per figure, medians`);
  if (!rewriteWorks) console.log('note: the addon\'s rewriteRequest wrote nothing (not implemented yet): only "parse" rows are comparable');
  const rows: string[] = [];
  for (const sample of SAMPLES) {
    checkAgreement(sample);
    const jobs: [string, (head: Buffer) => unknown, (head: Buffer) => unknown][] = [['parse', addonParse, nodeParse]];
    if (rewriteWorks) jobs.push(['parse + rewrite', addonParseRewrite, nodeParseRewrite]);
    for (const [what, addon, node] of jobs) {
      process.stdout.write(`measuring ${sample.name}, ${what} … `);
      const addonRates: number[] = [];
      const nodeRates: number[] = [];
      // Interleaved, so that a noisy neighbour hits both paths alike.
      for (let round = 0; round < rounds; round += 1) {
        addonRates.push(rate(addon, sample.head, seconds));
        nodeRates.push(rate(node, sample.head, seconds));
      }
      const a = median(addonRates);
      const n = median(nodeRates);
      console.log(`${(a / n).toFixed(2)}×`);
      const goal = what === 'parse + rewrite' ? (a / n >= 2 ? 'met' : 'missed') : '(goal is for parse + rewrite)';
      rows.push(`| ${sample.name} | ${what} | ${format(a)} | ${format(n)} | ${(a / n).toFixed(2)}× | ${goal} |`);
    }
  }
  console.log('\n| request | work | addon heads/s | node llhttp heads/s | addon ÷ node | goal ≥ 2× |');
  console.log('|---|---|---:|---:|---:|---|');
  for (const row of rows) console.log(row);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}

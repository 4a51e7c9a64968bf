/**
 * A small network of Linux network namespaces for the redirect tests, linked to nothing
 * outside it: a client (192.0.2.2) behind a router where exaproxy runs (192.0.2.1 towards the
 * client, 198.51.100.1 towards the origin), and an origin (198.51.100.2 and 198.51.100.3).
 * The router does not forward packets: whatever the client reaches beyond it went through
 * exaproxy. Names carry the test's pid; `remove` (also run at exit) deletes them, their
 * interfaces going with them.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export const CLIENT_IP = '192.0.2.2';
export const ROUTER_LAN_IP = '192.0.2.1';
export const ORIGIN_IP = '198.51.100.2';
export const ORIGIN_OTHER_IP = '198.51.100.3';

export interface Lab {
  client: string;
  router: string;
  origin: string;
  /** The router's interface towards the client. */
  lan: string;
  /** Runs a command in a namespace; never throws (the exit code is in the result). */
  run(ns: string, command: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts a long-running command in a namespace. */
  start(ns: string, command: string[]): ChildProcess;
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/**
 * Why namespaces cannot be made here (one line), or null when they can: tried for real,
 * with a namespace and a veth pair that are removed at once.
 */
export function namespacesRefused(): string | null {
  const probe = `xp${process.pid}t`;
  try {
    ip('netns', 'add', probe);
    try {
      ip('-n', probe, 'link', 'add', 'name', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1');
      execFileSync('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'], { stdio: 'pipe' });
    } finally {
      ip('netns', 'del', probe);
    }
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString().trim() || e.message).split('\n')[0]!;
  }
}

export function buildLab(): Lab {
  const id = process.pid;
  const client = `xp${id}c`;
  const router = `xp${id}r`;
  const origin = `xp${id}o`;
  const children = new Set<ChildProcess>();
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    for (const child of children) child.kill('SIGKILL');
    for (const ns of [client, router, origin]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // never made, or gone already
      }
    }
  };
  process.once('exit', remove);
  try {
    for (const ns of [client, router, origin]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    const lan = `xl${id}`;
    const wan = `xw${id}`;
    ip('-n', client, 'link', 'add', 'name', `xc${id}`, 'type', 'veth', 'peer', 'name', lan, 'netns', router);
    ip('-n', origin, 'link', 'add', 'name', `xo${id}`, 'type', 'veth', 'peer', 'name', wan, 'netns', router);
    ip('-n', client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', `xc${id}`);
    ip('-n', router, 'addr', 'add', `${ROUTER_LAN_IP}/24`, 'dev', lan);
    ip('-n', router, 'addr', 'add', '198.51.100.1/24', 'dev', wan);
    ip('-n', origin, 'addr', 'add', `${ORIGIN_IP}/24`, 'dev', `xo${id}`);
    ip('-n', origin, 'addr', 'add', `${ORIGIN_OTHER_IP}/24`, 'dev', `xo${id}`);
    for (const [ns, dev] of [[client, `xc${id}`], [router, lan], [router, wan], [origin, `xo${id}`]] as const) ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', client, 'route', 'add', 'default', 'via', ROUTER_LAN_IP);
    return {
      client,
      router,
      origin,
      lan,
      run: (ns, command, timeoutMs = 20_000) =>
        new Promise((resolve) => {
          execFile('ip', ['netns', 'exec', ns, ...command], { encoding: 'latin1', timeout: timeoutMs }, (error, stdout, stderr) => {
            const code: unknown = error ? (error as { code?: unknown }).code : 0;
            resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
          });
        }),
      start: (ns, command) => {
        const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        child.once('exit', () => children.delete(child));
        return child;
      },
      remove,
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/**
 * The nftables rules and the TPROXY routes of docs/operations.md ("Filtering without browser
 * configuration"), as an operator pastes them: the `define` lines given are replaced, and
 * every one must exist, so the test applies exactly what the documentation says.
 */
export function documentedRules(defines: Record<string, string>): { nft: string; routes: string[][] } {
  const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## 6. Filtering without browser configuration'));
  const block = (lang: string): string => {
    const start = section.indexOf(`\`\`\`${lang}\n`);
    if (start === -1) throw new Error(`docs/operations.md: no \`\`\`${lang} block in "Filtering without browser configuration"`);
    const body = start + lang.length + 4;
    return section.slice(body, section.indexOf('```', body));
  };
  let nft = block('nft');
  for (const [name, value] of Object.entries(defines)) {
    const line = new RegExp(`^define ${name} = .*$`, 'm');
    if (!line.test(nft)) throw new Error(`docs/operations.md: the nftables rules have no "define ${name}"`);
    nft = nft.replace(line, `define ${name} = ${value}`);
  }
  const routes = block('sh')
    .split('\n')
    .filter((l) => l.startsWith('ip '))
    .map((l) => l.split(/\s+/).slice(1));
  return { nft, routes };
}

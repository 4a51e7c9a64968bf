/**
 * Starts the real `exaproxy` command in a child process (through tsx, so the sources are
 * tested as they are) and waits for its "listening on" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface RunningExaproxy {
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Arguments for a test proxy: loopback, any free port, no monitor, one worker, and no
 * privilege drop (tests run as root and give helpers files in private temp folders).
 */
/**
 * The process running the proxy's data path: the one the test started, since daemon.workers=1
 * is one process (a test that needs this starts no helper process beside it).
 */
export function dataPathPid(p: RunningExaproxy): number {
  const pid = p.child.pid!;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length > 0) throw new Error(`dataPathPid: exaproxy ${pid} has child processes (${children.join(', ')}): not one process`);
  return pid;
}

export function testArgs(extra: string[] = []): string[] {
  const user = process.getuid?.() === 0 ? ['--daemon.user=root'] : [];
  return ['--tcp4.host=127.0.0.1', '--tcp4.port=0', '--web.enable=false', '--log.level=WARNING', '--daemon.workers=1', ...user, ...extra];
}

/** `netns`: run it inside that network namespace (`ip netns exec`, which becomes the process). */
export async function startExaproxy(args: string[], env: NodeJS.ProcessEnv = {}, opts: { netns?: string } = {}): Promise<RunningExaproxy> {
  const command = [process.execPath, '--import', 'tsx', join(ROOT, '__test__', 'helpers', 'cli-main.ts'), ...args];
  if (opts.netns !== undefined) command.unshift('ip', 'netns', 'exec', opts.netns);
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exaproxy did not start in 20 s:\n${out}\n${err}`)), 20_000);
    const check = (): void => {
      const m = /listening on [^\n]*?:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exaproxy exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

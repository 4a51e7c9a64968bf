/**
 * Runs the real `exaproxy` command (src/cli.ts through tsx) as a child process, with a clean
 * environment: only PATH, HOME and what the test passes, so the tester's own exaproxy.*
 * variables never leak in.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = join(__dirname, '..', '..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
// A script file, not `node -e`: node:cluster starts the workers by running it again.
const CLI_MAIN = join(ROOT, '__test__', 'helpers', 'cli-main.ts');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** The argv that starts the command, for tests that need the process itself (signals). */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, ['--import', TSX, CLI_MAIN, ...args]];
}

export function cliSpawnOptions(options: CliOptions): SpawnOptions {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...options.env };
  return { cwd: options.cwd ?? ROOT, env, uid: options.uid, gid: options.gid, stdio: ['ignore', 'pipe', 'pipe'] };
}

/** Runs `exaproxy <args>` to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const [command, argv] = cliCommand(args);
  const child = spawn(command, argv, cliSpawnOptions(options));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

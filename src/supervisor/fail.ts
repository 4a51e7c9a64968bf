// How a worker that cannot start ends (kept apart from worker.ts so that the command can use it
// without loading the data path).
import type { WorkerMessage } from './messages';
import { PrivilegeError } from './privileges';
import { StartError } from './start-errors';

/**
 * A worker that cannot start tells the primary why, in the one line the command prints, and
 * exits: the primary stops rather than start it again in a loop (the next one would fail the
 * same way). Without a primary (no IPC) the line goes to stderr.
 */
export function workerFailed(error: unknown): Promise<never> {
  const reason = failureLine(error);
  if (process.connected && process.send) {
    process.send({ exaproxy: 'failed', reason } satisfies WorkerMessage, undefined, undefined, () => process.exit(1));
  } else {
    process.stderr.write(`${reason}\n`);
    process.exit(1);
  }
  // Never settles: the process exits once the message is sent.
  return new Promise<never>(() => undefined);
}

/** The one line a start failure is told in (a user's mistake, or anything else with what to do). */
export function failureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StartError || message.startsWith('exaproxy: ')) return message;
  return error instanceof PrivilegeError ? `exaproxy: ${message}` : `exaproxy: cannot start: ${message}`;
}

// The data path in the primary's own process (daemon.workers=1, daemon.supervise=false): a
// MemberProcess whose messages are function calls. One process saves what a second Node
// process costs (~40 MiB, docs/architecture.md "Memory"); a crash ends both, and the service
// manager starts exaproxy again. A reload starts a second one beside it, which takes over the
// listening sockets (src/proxy/listening-sockets.ts) before the first drains.
import { EventEmitter } from 'node:events';
import type { Log } from '../monitor/server';
import { failureLine } from './fail';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { obey, type Obeying } from './obey';
import type { MemberProcess } from './member';
import type { WorkerHandle } from './worker';

export class InProcessMember extends EventEmitter implements MemberProcess {
  readonly pid = process.pid;
  private obeying: Obeying | undefined;
  private handle: WorkerHandle | undefined;
  private exited = false;
  /** messages sent before the data path runs, applied once it does */
  private readonly queued: PrimaryMessage[] = [];
  /**
   * Holds the process while the data path runs, as a worker's IPC channel holds the primary:
   * not listening (SIGTTOU) and without a monitor, nothing else would, and it would exit.
   */
  private readonly alive = setInterval(() => undefined, 2 ** 30);

  constructor(
    start: () => Promise<WorkerHandle>,
    private readonly log: Log,
    readonly name: string,
    reportMs: number,
  ) {
    super();
    // Started on the next turn, once the primary listens to this member's events.
    setImmediate(() => void this.run(start, reportMs));
  }

  private async run(start: () => Promise<WorkerHandle>, reportMs: number): Promise<void> {
    try {
      this.handle = await start();
    } catch (error) {
      this.tell({ exaproxy: 'failed', reason: failureLine(error) });
      this.exit(1);
      return;
    }
    if (this.exited) {
      // Killed while it started (a reload given up): it must not keep the sockets.
      await this.handle.stop(false).catch(() => undefined);
      return;
    }
    // A report is only stored by the primary: given at once, so poll() makes the figures current.
    const send = (m: WorkerMessage): void => (m.exaproxy === 'report' ? void this.emit('message', m) : this.tell(m));
    this.obeying = obey(this.handle, this.log, this.name, send, () => this.exit(0), reportMs);
    this.tell({ exaproxy: 'ready', pid: this.pid, addresses: this.handle.addresses });
    this.obeying.report();
    for (const m of this.queued.splice(0)) this.send(m);
  }

  /** To the primary, on a later turn as over a channel: its handlers never run inside ours. */
  private tell(m: WorkerMessage): void {
    setImmediate(() => this.emit('message', m));
  }

  private exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    clearInterval(this.alive);
    setImmediate(() => this.emit('exit', code, null));
  }

  send(m: PrimaryMessage): void {
    if (this.exited) return;
    if (this.obeying === undefined) {
      this.queued.push(m);
      return;
    }
    void this.obeying.apply(m).catch((err: Error) => this.log.error(`${this.name}: ${m.exaproxy} failed: ${err.message}`));
  }

  isConnected(): boolean {
    return !this.exited;
  }

  kill(): void {
    if (this.exited) return;
    const handle = this.handle;
    this.exit(1);
    void handle?.stop(false).catch((err: Error) => this.log.error(`${this.name}: stop failed: ${err.message}`));
  }

  poll(): void {
    this.obeying?.report();
  }
}

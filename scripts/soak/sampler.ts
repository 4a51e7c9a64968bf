/**
 * Once a second: the proxy's memory, open files and event-loop delay, and what the clients
 * counted (the latencies of that second become its p99). Progress goes to stdout every
 * five seconds.
 */
import { percentile } from './keepalive';
import { loopDelayMs, type SoakProxy } from './proxy';
import type { Tally } from './tally';

export interface Sample {
  /** seconds since the load started */
  t: number;
  rssMiB: number;
  fds: number;
  loopDelayMs: number;
  /** the soak process's own event-loop delay: a stall here inflates the latencies it measures */
  clientLoopDelayMs: number;
  p99Ms: number;
  answers: number;
  failures: number;
  idleOpen: number;
  slowlorisOpen: number;
  tunnelsOk: number;
  uploadsOk: number;
  checksumMismatches: number;
  transferFailures: number;
  helperKills: number;
}

export class Sampler {
  readonly samples: Sample[] = [];
  /** every latency of the run, for the overall p99 (after the warm-up) */
  readonly latencies: { t: number; ms: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private lastTick = performance.now();

  constructor(
    private readonly proxy: SoakProxy,
    private readonly tally: Tally,
    private readonly totalS: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    const tick = performance.now();
    const clientLoopDelayMs = Math.round(Math.max(0, tick - this.lastTick - 1000) * 10) / 10;
    this.lastTick = tick;
    const t = Math.round((Date.now() - this.started) / 1000);
    const second = this.tally.latencies.splice(0);
    for (const ms of second) this.latencies.push({ t, ms });
    const k = this.tally;
    const s: Sample = {
      t,
      rssMiB: Math.round(this.proxy.rssMiB() * 10) / 10,
      fds: this.proxy.fds(),
      loopDelayMs: Math.round((await loopDelayMs(this.proxy.monitorPort)) * 10) / 10,
      clientLoopDelayMs,
      p99Ms: Math.round(percentile(second, 0.99) * 10) / 10,
      answers: k.answers,
      failures: k.failures,
      idleOpen: k.idleOpen,
      slowlorisOpen: k.slowlorisOpen,
      tunnelsOk: k.tunnelsOk,
      uploadsOk: k.uploadsOk,
      checksumMismatches: k.checksumMismatches,
      transferFailures: k.transferFailures,
      helperKills: k.helperKills,
    };
    this.samples.push(s);
    if (t % 5 === 0) {
      console.log(
        `soak ${t}/${this.totalS} s: rss ${s.rssMiB} MiB, fds ${s.fds}, loop delay ${s.loopDelayMs} ms (soak's own ${s.clientLoopDelayMs} ms), p99 ${s.p99Ms} ms, ` +
          `answers ${s.answers} (${s.failures} failed), idle ${s.idleOpen}, slowloris ${s.slowlorisOpen} open / ${k.slowlorisClosed} closed in time, ` +
          `tunnels ${s.tunnelsOk}, uploads ${s.uploadsOk}, bad checksums ${s.checksumMismatches}, helper kills ${s.helperKills}`,
      );
    }
  }
}

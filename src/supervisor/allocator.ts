import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * glibc's allocator settings for the workers, given in their environment at fork (glibc reads
 * GLIBC_TUNABLES when a process starts). Node allocates a 64 KiB buffer for every socket read
 * and the garbage collector frees them in batches; with glibc's defaults the freed top of the
 * heap (beyond 128 KiB) goes back to the system at once, and the next reads fault the same
 * pages in again, zeroed: about 40 page faults per MiB relayed, which the bench's 1m scenario
 * shows as kernel time (page faults, page clearing) that HAProxy, with its recycled buffers,
 * does not spend. Keeping up to 16 MiB of freed heap leaves under 1 fault per MiB and ~20%
 * less system time per MiB. The price is memory an idle worker keeps after a burst: the peak
 * RSS measured by the bench grew by 3–4 MiB (64 MiB, tried first, saved no more faults). An
 * operator's own GLIBC_TUNABLES is kept as given; other C libraries ignore the variable.
 */
export const WORKER_MALLOC_TUNABLES = `glibc.malloc.trim_threshold=${16 * 1024 * 1024}`;

/**
 * What a single process (daemon.supervise=false) keeps, set at start with mallopt since no fork
 * gives it an environment: 4 MiB, not 16, as its point is memory. The bench, in one run: peak
 * RSS under the small load 80.0 → 74.4 MiB, CPU per relayed MiB (1m) as the worker's with 16.
 */
export const SINGLE_PROCESS_FREED_HEAP = 4 * 1024 * 1024;

/** What a worker's environment adds for the allocator, given the primary's environment. */
export function allocatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GLIBC_TUNABLES === undefined ? { GLIBC_TUNABLES: WORKER_MALLOC_TUNABLES } : {};
}

/**
 * V8's young generation, in MiB per semi-space, for the workers. Node 20 lets it grow to 16 MiB
 * (32 MiB committed) under load and keeps it; a proxy's garbage is short-lived (a head, a table
 * of offsets per request), so small semi-spaces cost few scavenges and save that memory in
 * every worker (docs/architecture.md, "Memory"). An operator's own setting (node's command line
 * or NODE_OPTIONS) is left alone.
 */
const WORKER_SEMI_SPACE_MIB = 2;

function semiSpaceGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((flag) => /^--max[-_]semi[-_]space[-_]size\b/.test(flag));
}

export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  return semiSpaceGiven(execArgv, nodeOptions) ? [...execArgv] : [`--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`, ...execArgv];
}

/**
 * The same limit in a single process (daemon.supervise=false), which no fork can give it: V8
 * reads the largest semi-space size only as the heap is made, but it reads the growth factor
 * each time the young generation grows. So the young generation is grown here, at start, to
 * the workers' size (objects kept across a few scavenges make V8 grow it, as a burst of
 * requests would), and a factor of 1 then keeps it there. Bounded: a V8 that grows it
 * otherwise only costs the loop's count of small objects.
 */
export function limitYoungGeneration(execArgv: readonly string[], nodeOptions = ''): void {
  if (semiSpaceGiven(execArgv, nodeOptions)) return;
  const target = 2 * WORKER_SEMI_SPACE_MIB * 1024 * 1024;
  const young = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? target;
  let kept: object[] = [];
  for (let n = 0; n < 1_000_000 && young() < target; n++) {
    kept.push({ n });
    if (kept.length > 50_000) kept = [];
  }
  setFlagsFromString('--semi-space-growth-factor=1');
}

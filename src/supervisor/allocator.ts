/**
 * glibc's allocator settings for the workers, given in their environment at fork (glibc reads
 * GLIBC_TUNABLES when a process starts). Node allocates a 64 KiB buffer for every socket read
 * and the garbage collector frees them in batches; with glibc's defaults the freed top of the
 * heap (beyond 128 KiB) goes back to the system at once, and the next reads fault the same
 * pages in again, zeroed: about 40 page faults per MiB relayed, which the bench's 1m scenario
 * shows as kernel time (page faults, page clearing) that HAProxy, with its recycled buffers,
 * does not spend. Keeping up to 64 MiB of freed heap (V8 collects external memory at about
 * that size) and growing the heap 16 MiB at a time leaves about 2 faults per MiB. The peak
 * RSS does not grow: the heap held those buffers before each collection anyway. An
 * operator's own GLIBC_TUNABLES is kept as given; other C libraries ignore the variable.
 */
export const WORKER_MALLOC_TUNABLES = 'glibc.malloc.trim_threshold=67108864:glibc.malloc.top_pad=16777216';

/** What a worker's environment adds for the allocator, given the primary's environment. */
export function allocatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GLIBC_TUNABLES === undefined ? { GLIBC_TUNABLES: WORKER_MALLOC_TUNABLES } : {};
}

/**
 * The memory plain upstream sockets read into (Node's `onread`), reused from read to read
 * instead of the fresh 64 KiB Node allocates (and the kernel zero-fills) for every read.
 *
 * Two kinds of buffer, and one rule for each:
 * - The shared buffer: every socket that is not in the middle of a body reads into it (an
 *   idle pooled connection, a response head). What is read there lives only for the call
 *   that delivers it: whatever outlives that call — a write that may stay queued, a partial
 *   head, bytes handed to a tunnel — is copied first (Upstream.keep, Upstream.writable).
 * - A socket's own buffer, while it streams a body: its bytes may be written to the client
 *   as they are. A write the socket could not take at once keeps a reference to them, so a
 *   buffer whose bytes are still queued is never read into again: it waits here until its
 *   client socket has written everything (`writableLength` 0), or is left to the GC.
 */
import type { Socket } from 'node:net';

/** A read between bodies, as large as Node's own (libuv's suggested size). */
const SHARED_SIZE = 64 * 1024;
/** A read of a body. */
const OWN_SIZE = 64 * 1024;
/** Buffers kept for reuse beyond those in use (the rest go to the GC). */
const KEEP_FREE = 8;
/** Queued buffers remembered for reuse (beyond: left to the GC). */
const KEEP_QUEUED = 16;

export const sharedReadBuffer = Buffer.allocUnsafeSlow(SHARED_SIZE);

const free: Buffer[] = [];
const queued: { buf: Buffer; socket: Socket }[] = [];

/** A buffer of its own for a socket that starts streaming a body. */
export function takeReadBuffer(): Buffer {
  if (free.length === 0 && queued.length > 0) reclaimQueued();
  return free.pop() ?? Buffer.allocUnsafeSlow(OWN_SIZE);
}

/** A buffer no write refers to (its socket stopped streaming a body). */
export function giveReadBuffer(buf: Buffer): void {
  if (free.length < KEEP_FREE) free.push(buf);
}

/** `buf` holds bytes that a write to `socket` may still send: not reused before it has. */
export function readBufferQueued(buf: Buffer, socket: Socket): void {
  if (queued.length >= KEEP_QUEUED) queued.shift();
  queued.push({ buf, socket });
}

/**
 * Buffers whose socket has sent everything it was given are free again. A destroyed socket
 * says nothing reliable about its writes: its buffers are left to the GC.
 */
function reclaimQueued(): void {
  let kept = 0;
  for (const entry of queued) {
    if (entry.socket.destroyed) continue;
    if (entry.socket.writableLength === 0) giveReadBuffer(entry.buf);
    else queued[kept++] = entry;
  }
  queued.length = kept;
}

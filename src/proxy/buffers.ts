/**
 * How much the data path holds per connection: together these bound a connection's
 * memory, whatever its client or server does (see ClientConnection.readRequests).
 */

/**
 * Bytes a socket may hold before its writer is paused. Node's 16 KiB default is smaller
 * than one 64 KiB read, so every relayed chunk would pause and resume the other side (two
 * epoll changes per chunk); 256 KiB lets a chunk pass straight through.
 */
export const SOCKET_BUFFER = 256 * 1024;

/** Input waiting beyond this (pipelined requests, bodies before the upstream is ready) pauses reading. */
export const MAX_BUFFERED = 256 * 1024;

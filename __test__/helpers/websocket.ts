/**
 * Just enough RFC 6455 for an echo test: the handshake and single unfragmented frames.
 */
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Encodes one text frame; clients must mask, servers must not. */
export function frame(payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0x81, len]) : Buffer.from([0x81, 126, len >> 8, len & 255]);
  if (!mask) return Buffer.concat([header, payload]);
  header[1]! |= 0x80;
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([header, key, masked]);
}

/** Decodes one complete frame from `buf`, or undefined if incomplete. */
export function unframe(buf: Buffer): { payload: Buffer; size: number } | undefined {
  if (buf.length < 2) return undefined;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  }
  const masked = (buf[1]! & 0x80) !== 0;
  const key = masked ? buf.subarray(at, at + 4) : null;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
  return { payload, size: at + len };
}

/** Makes `server` answer WebSocket upgrades by echoing every frame back. */
export function echoWebSockets(server: Server): void {
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    // Frames may have come with the upgrade request (`head`).
    let pending = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      pending = Buffer.concat([pending, d]);
      let f;
      while ((f = unframe(pending))) {
        pending = pending.subarray(f.size);
        socket.write(frame(f.payload, false));
      }
    };
    socket.on('data', onData);
    // The client's FIN is answered with ours (an http server's sockets allow half-open).
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
    onData(head);
  });
}

// CONNECT tunnel load: each connection opens one tunnel through the proxy to the origin, then fetches
// the same document over and over inside it (keep-alive), so the proxy only relays bytes.
// Usage: node connect-client.mjs <proxyPort> <originPort> <path> <bodyBytes> <connections> <seconds>
// Prints one JSON line: {duration_us, requests, bytes, status, socket, p50_us, p99_us}.
// Plain JavaScript, pinned with the origin on the load core, so that it costs no loader time.
import { connect } from 'node:net';

const [proxyPort, originPort, path, bodyBytes, connections, seconds] = process.argv.slice(2).map((v, i) => (i === 2 ? v : Number(v)));
const authority = `127.0.0.1:${originPort}`;
const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
const stats = { requests: 0, bytes: 0, status: 0, socket: 0 };
const latencies = [];
const started = process.hrtime.bigint();
const deadline = Date.now() + seconds * 1000;

function tunnel() {
  return new Promise((resolve) => {
    const socket = connect(proxyPort, '127.0.0.1');
    let phase = 'connect';
    let head = '';
    let bodyLeft = 0;
    let sentAt = 0n;
    let ended = false;
    const finish = () => {
      ended = true;
      socket.destroy();
      resolve();
    };
    const send = () => {
      if (Date.now() >= deadline) return finish();
      phase = 'head';
      head = '';
      sentAt = process.hrtime.bigint();
      socket.write(request);
    };
    // A tunnel the proxy closes or breaks before the deadline is an error, like wrk's read errors.
    const broken = () => {
      if (!ended) stats.socket += 1;
      finish();
    };
    socket.on('error', broken);
    socket.on('close', broken);
    socket.on('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    socket.on('data', (chunk) => {
      stats.bytes += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        if (phase === 'body') {
          const take = Math.min(bodyLeft, chunk.length - offset);
          bodyLeft -= take;
          offset += take;
          if (bodyLeft === 0) {
            stats.requests += 1;
            latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
            send();
          }
          continue;
        }
        // A head (the CONNECT answer, then each response's) is read up to its blank line.
        head += chunk.toString('latin1', offset);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        offset = chunk.length - (head.length - end - 4);
        const ok = / 200 /.test(head.slice(0, head.indexOf('\r\n')));
        if (!ok) {
          stats.status += 1;
          return finish();
        }
        if (phase === 'connect') {
          send();
        } else {
          phase = 'body';
          bodyLeft = bodyBytes;
        }
        head = '';
      }
    });
  });
}

await Promise.all(Array.from({ length: connections }, tunnel));
latencies.sort((a, b) => a - b);
const pick = (q) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
const duration_us = Number(process.hrtime.bigint() - started) / 1000;
console.log(JSON.stringify({ duration_us, ...stats, p50_us: pick(0.5), p99_us: pick(0.99) }));

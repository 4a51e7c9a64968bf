// Idle keep-alive connections: opens <count> connections through the proxy, sends one small request
// on each, waits for every answer, prints `READY {"open":n,"failed":m}` and then holds them all open
// until it is killed. The bench measures the proxy's memory before and while they are held.
// Usage: node idle-client.mjs <proxyPort> <originPort> <path> <count>
// Plain JavaScript so that it loads fast and carries no TypeScript loader.
import { connect } from 'node:net';

const [proxyPort, originPort, path, count] = process.argv.slice(2).map((v, i) => (i === 2 ? v : Number(v)));
const authority = `127.0.0.1:${originPort}`;
const request = `GET http://${authority}${path} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;
const held = [];
let failed = 0;

function open() {
  return new Promise((resolve) => {
    const socket = connect(proxyPort, '127.0.0.1');
    let text = '';
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      if (ok) held.push(socket);
      else {
        failed += 1;
        socket.destroy();
      }
      resolve();
    };
    socket.on('error', () => settle(false));
    socket.on('close', () => settle(false));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (!/^HTTP\/1\.[01] 200 /.test(text)) return settle(false);
      if (length && text.length - end - 4 >= Number(length[1])) settle(true);
    });
  });
}

// A bounded number of handshakes in flight, so the listen backlogs never overflow.
const BATCH = 200;
for (let started = 0; started < count; started += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, count - started) }, open));
}
console.log(`READY ${JSON.stringify({ open: held.length, failed })}`);
setInterval(() => {}, 1 << 30);

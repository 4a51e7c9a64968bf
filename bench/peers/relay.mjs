// The floor of the comparison: a Node socket relay that parses nothing. Every client connection is
// piped byte for byte to the origin (nginx accepts the absolute-form request lines wrk sends), so the
// CPU it spends is what a Node proxy costs before it reads a single header. It cannot do CONNECT.
// Plain JavaScript, not TypeScript, so that the measured process carries no compiler loader.
import { connect, createServer } from 'node:net';

const [port, originPort] = process.argv.slice(2).map(Number);

createServer((client) => {
  const origin = connect(originPort, '127.0.0.1');
  // Without TCP_NODELAY, Nagle and delayed ACKs stall each response by tens of milliseconds.
  client.setNoDelay(true);
  origin.setNoDelay(true);
  client.pipe(origin).pipe(client);
  const close = () => {
    client.destroy();
    origin.destroy();
  };
  for (const socket of [client, origin]) {
    socket.on('error', close);
    socket.on('close', close);
  }
}).listen(port, '127.0.0.1');

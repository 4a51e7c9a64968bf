// The allow-all example helpers as a process sees them: what one write of requests gets back.
// The pool writes a burst of requests at once (redirector.pipeline, channel-IDs); a helper
// that reads them together answers them together, in one write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { example } from './fixtures/redirectors/harness';

/** Starts `command`, and collects each chunk its stdout delivers. */
function start(command: string[]): { write(text: string): void; chunks: string[]; next(): Promise<string>; end(): Promise<void> } {
  const [program, ...args] = command;
  const child = spawn(program!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: string[] = [];
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => chunks.push(chunk));
  return {
    chunks,
    write: (text) => child.stdin.write(text, 'latin1'),
    async next() {
      const before = chunks.length;
      while (chunks.length === before) await once(child.stdout, 'data');
      return chunks[before]!;
    },
    async end() {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

test('url-allow.py: requests written together are answered in one write; a line cut in two when its end arrives', async () => {
  const helper = start(example('url-allow.py'));
  helper.write('www.example.com/a 192.0.2.10 - GET -\nwww.example.com/b 192.0.2.10 - GET -\nwww.exam');
  assert.equal(await helper.next(), '\n\n');
  helper.write('ple.com/c 192.0.2.10 - GET -\n');
  assert.equal(await helper.next(), '\n');
  await helper.end();
  assert.deepEqual(helper.chunks, ['\n\n', '\n']);
});

test('squid-allow.py: channel-IDs echoed, requests written together answered in one write, a line cut in two when its end arrives', async () => {
  const helper = start(example('squid-allow.py'));
  helper.write('1 http://www.example.com/a 192.0.2.10/- - GET myip=127.0.0.1 myport=3128\n'
    + 'http://www.example.com/b 192.0.2.10/- - GET myip=127.0.0.1 myport=3128\n3 http://www.exa');
  assert.equal(await helper.next(), '1 ERR\nERR\n');
  helper.write('mple.com/c 192.0.2.10/- - GET myip=127.0.0.1 myport=3128\n');
  assert.equal(await helper.next(), '3 ERR\n');
  await helper.end();
});

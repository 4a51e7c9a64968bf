/**
 * The `exaproxy` command as a user runs it: a real process, its stdout, stderr and exit status.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OPTIONS } from '../src/config/schema';
import { cliCommand, cliSpawnOptions, ROOT, runCli } from './helpers/run-cli';

const FIXTURE_12 = join(ROOT, '__test__', 'fixtures', 'config', 'exaproxy-1.2.conf');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'exaproxy-cli-'));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Undoes the POSIX shell quoting of an `-e` line's value (only single quotes are produced). */
function shellUnquote(value: string): string {
  return value.replace(/'((?:[^'])*)'|\\(.)/g, (_, quoted: string | undefined, escaped: string | undefined) => quoted ?? escaped ?? '');
}

test('-h lists every option with its default, the flags and the signals', async () => {
  const { status, stdout, stderr } = await runCli(['-h']);
  assert.equal(status, 0);
  assert.equal(stderr, '');
  const lines = stdout.split('\n');
  for (const { key, option } of OPTIONS) {
    const line = lines.find((l) => l.trimStart().startsWith(`exaproxy.${key} `));
    assert.ok(line, `-h has no line for exaproxy.${key}`);
    assert.ok(line.includes(option.help), `-h line of ${key} lacks its help`);
    assert.ok(line.includes(`default ${option.default === '' ? "''" : option.default}`), `-h line of ${key} lacks its default`);
  }
  for (const flag of ['-c, --conf-file', '-i, -fi, --ini', '-e, -fe, --env', '-di, --diff-ini', '-de, --diff-env', '-d, --debug', '-v, --version']) {
    assert.ok(stdout.includes(flag), `-h does not describe ${flag}`);
  }
  assert.match(stdout, /SIGTERM, SIGINT/);
  assert.match(stdout, /exaproxy\.daemon\.speed .*\[not implemented yet\]/);
});

test('-h works even when the rest of the command line is wrong', async () => {
  const { status, stdout } = await runCli(['--no.such=1', '--help']);
  assert.equal(status, 0);
  assert.match(stdout, /^exaproxy /);
});

test('-v prints the package version', async () => {
  const { status, stdout, stderr } = await runCli(['-v']);
  assert.equal(status, 0);
  assert.equal(stdout, `exaproxy ${VERSION}\n`);
  assert.equal(stderr, '');
  assert.equal((await runCli(['--version'])).stdout, `exaproxy ${VERSION}\n`);
});

test('the shipped ExaProxy 1.2 exaproxy.conf loads unchanged and equals the defaults', async () => {
  const diff = await runCli(['-c', FIXTURE_12, '-di']);
  assert.equal(diff.stderr, '');
  assert.equal(diff.status, 0);
  assert.equal(diff.stdout, '', 'every value of the shipped file is a default');
  const ini = await runCli(['-c', FIXTURE_12, '-i']);
  const defaults = await runCli(['-c', '/dev/null', '-i']);
  assert.equal(ini.status, 0);
  assert.equal(ini.stdout, defaults.stdout);
  assert.match(ini.stdout, /^\[http\]$/m);
});

test('-di and -de print only what differs from the defaults', async () => {
  const args = ['-c', '/dev/null', '--tcp4.port=8128', '--security.deny=10.1.0.0/16,192.168.1.1', '--http.forward=X-Forwarded-For'];
  const ini = await runCli([...args, '-di']);
  assert.equal(ini.status, 0);
  assert.equal(ini.stdout, "[http]\nforward = x-forwarded-for\n\n[security]\ndeny = '10.1.0.0/16 192.168.1.1/32'\n\n[tcp4]\nport = 8128\n");
  const env = await runCli([...args, '-de']);
  assert.equal(env.status, 0);
  assert.equal(
    env.stdout,
    "exaproxy.http.forward=x-forwarded-for\nexaproxy.security.deny='10.1.0.0/16 192.168.1.1/32'\nexaproxy.tcp4.port=8128\n",
  );
});

/** Non-default values of many types, to check that printing then loading gives them back. */
const VARIED = [
  '--tcp4.port=0',
  '--tcp6.listen=yes',
  '--http.extensions=propfind, mkcol',
  '--http.forward-trust=10.0.0.0/8 2001:DB8::/32',
  '--http.header-timeout=2.5',
  '--http.xff=replace',
  '--http.remove-headers=X-Debug Cookie2',
  '--security.local=127.0.0.1:80 *:8080 [::1]:*',
  '--security.connect=443',
  '--security.deny=',
  '--redirector.program=/bin/echo "two words" "it\'s"',
  '--redirector.protocol=icap://filter',
  '--log.destination=host:[2001:db8::1]:1514',
  '--usage.destination=relative/usage.log',
  '--daemon.identifier=edge-1',
  '--web.token=s3cret #1',
];

test('-i output loaded back with -c gives the same configuration', async () => {
  const first = await runCli([...VARIED, '-i'], { cwd: dir });
  assert.equal(first.status, 0, first.stderr);
  const saved = file('roundtrip.conf', first.stdout);
  const second = await runCli(['-c', saved, '-i'], { cwd: dir });
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  const diff = await runCli(['-c', saved, '-di'], { cwd: dir });
  assert.equal(diff.stdout, (await runCli([...VARIED, '-di'], { cwd: dir })).stdout);
  assert.match(first.stdout, /^program = "\/bin\/echo 'two words' 'it'\\''s'"$/m);
});

test('-e output given back as environment variables gives the same configuration', async () => {
  const first = await runCli(['-c', '/dev/null', ...VARIED, '-e'], { cwd: dir });
  assert.equal(first.status, 0, first.stderr);
  const env: Record<string, string> = {};
  for (const line of first.stdout.trimEnd().split('\n')) {
    const equals = line.indexOf('=');
    env[line.slice(0, equals)] = shellUnquote(line.slice(equals + 1));
  }
  assert.equal(Object.keys(env).length, OPTIONS.length);
  const second = await runCli(['-c', '/dev/null', '-e'], { cwd: dir, env });
  assert.equal(second.stderr, '');
  assert.equal(second.stdout, first.stdout);
});

test('environment variables: dotted and underscore forms, hyphens kept, dotted wins', async () => {
  const dotted = await runCli(['-c', '/dev/null', '-di'], { env: { 'exaproxy.tcp4.port': '1234' } });
  assert.equal(dotted.stdout, '[tcp4]\nport = 1234\n');
  const underscore = await runCli(['-c', '/dev/null', '-di'], { env: { exaproxy_tcp4_port: '1235', 'exaproxy_http_header-size': '4096' } });
  assert.equal(underscore.stdout, '[http]\nheader-size = 4096\n\n[tcp4]\nport = 1235\n');
  const both = await runCli(['-c', '/dev/null', '-di'], { env: { exaproxy_tcp4_port: '1', 'exaproxy.tcp4.port': '2' } });
  assert.equal(both.stdout, '[tcp4]\nport = 2\n');
});

test('a flag beats the environment, which beats the file, which beats the default', async () => {
  const conf = file('layers.conf', '[tcp4]\nport = 1000\nbacklog = 10\n[http]\nconnections = 30\n');
  const env = { exaproxy_tcp4_port: '2000', exaproxy_tcp4_backlog: '20' };
  const { status, stdout } = await runCli(['-c', conf, '--tcp4.port', '3000', '-di'], { env });
  assert.equal(status, 0);
  assert.equal(stdout, '[http]\nconnections = 30\n\n[tcp4]\nbacklog = 20\nport = 3000\n');
});

test('an unknown exaproxy.* environment variable is a warning, not an error', async () => {
  const { status, stdout, stderr } = await runCli(['-c', '/dev/null', '-di'], { env: { exaproxy_http_conections: '5', 'exaproxy.nothing': '1' } });
  assert.equal(status, 0);
  assert.equal(stdout, '');
  assert.equal(
    stderr,
    'exaproxy: warning: environment exaproxy.nothing is not an option; it is ignored (exaproxy -h lists every option)\n' +
      'exaproxy: warning: environment exaproxy_http_conections is not an option; did you mean exaproxy_http_connections? it is ignored (exaproxy -h lists every option)\n',
  );
});

test('-d sets the log level to DEBUG', async () => {
  const { stdout } = await runCli(['-c', '/dev/null', '-d', '-di']);
  assert.equal(stdout, '[log]\nlevel = DEBUG\n');
});

/** Each bad input, and the one line it must produce. */
const BAD: { name: string; args: string[]; env?: Record<string, string>; conf?: string; line: string }[] = [
  {
    name: 'unknown option in a file',
    conf: '# comment\n[http]\nconections = 5\n',
    args: [],
    line: 'CONF:3: unknown option http.conections = "5"; did you mean http.connections? (exaproxy -h lists every option)',
  },
  {
    name: 'unknown section in a file',
    conf: '[htp]\nport = 1\n',
    args: [],
    line: 'CONF:2: unknown section [htp] (for port = "1"); did you mean [http]? (exaproxy -h lists every option)',
  },
  {
    name: 'unknown option in a flag',
    args: ['--tcp4.prot=80'],
    line: '--tcp4.prot: unknown option tcp4.prot; did you mean --tcp4.port? (exaproxy -h lists every option)',
  },
  { name: 'unknown flag', args: ['-x'], line: '-x: unknown flag (exaproxy -h lists the flags)' },
  {
    name: 'wrong type in a file',
    conf: '[exaproxy.http]\nconnections = "lots"\n',
    args: [],
    line: 'CONF:2: http.connections = "lots": expected an integer from 1 to 1000000',
  },
  {
    name: 'not a boolean (ExaProxy would have read false)',
    conf: "[http]\ntransparent = 'maybe'\n",
    args: [],
    line: 'CONF:2: http.transparent = "maybe": expected a boolean: 1 yes on enable true for true, 0 no off disable false for false',
  },
  {
    name: 'out of range in a flag',
    args: ['--http.connections=0'],
    line: '--http.connections: http.connections = "0": expected an integer from 1 to 1000000',
  },
  {
    name: 'wrong value in the environment',
    args: [],
    env: { exaproxy_tcp4_port: '70000' },
    line: 'environment exaproxy_tcp4_port: tcp4.port = "70000": expected an integer from 0 to 65535 (0: any free port)',
  },
  {
    name: 'bad CIDR',
    args: ['--security.deny=10.0.0.1/8'],
    line: '--security.deny: security.deny = "10.0.0.1/8": expected CIDR ranges such as 10.0.0.0/8 fc00::/7 separated by spaces: "10.0.0.1/8" has bits set after the /8 prefix; write 10.0.0.0/8',
  },
  {
    name: 'bad enum',
    args: ['--http.xff', 'drop'],
    line: '--http.xff: http.xff = "drop": expected one of append replace leave',
  },
  {
    name: 'bad INI syntax',
    conf: '[http]\nthis line has no equals sign\n',
    args: [],
    line: 'CONF:2: cannot parse "this line has no equals sign": expected [section], option = value, or a # comment',
  },
  {
    name: 'option outside any section',
    conf: 'port = 3128\n',
    args: [],
    line: 'CONF:1: port = "3128" is outside any [section]: put a [section] line such as [http] above it',
  },
  {
    name: 'missing file',
    args: ['-c', '/nonexistent/exaproxy.conf'],
    line: '-c /nonexistent/exaproxy.conf: cannot read the configuration file: it does not exist (check the path)',
  },
  {
    name: 'a folder given as the file',
    args: ['-c', '/tmp'],
    line: '-c /tmp: cannot read the configuration file: it is a folder (give the path of the file inside it)',
  },
  {
    name: 'redirector enabled with a program that does not exist',
    args: ['--redirector.enable', '--redirector.program=/nonexistent/helper -v'],
    line: '--redirector.program: redirector.program = "/nonexistent/helper -v": no executable file at /nonexistent/helper; redirector.enable is true, so give the path of an executable helper',
  },
  {
    name: 'minimum above maximum',
    args: ['--redirector.minimum=30'],
    line: '--redirector.minimum: redirector.minimum = 30 is above redirector.maximum = 25: expected minimum <= maximum',
  },
  {
    name: 'a flag without its value',
    args: ['--tcp4.port'],
    line: '--tcp4.port: needs a value: --tcp4.port=VALUE (exaproxy -h shows what tcp4.port accepts)',
  },
];

for (const bad of BAD) {
  test(`bad input exits 1 with one line: ${bad.name}`, async () => {
    const conf = bad.conf === undefined ? undefined : file(`bad-${bad.name.replace(/\W+/g, '-')}.conf`, bad.conf);
    const args = conf ? ['-c', conf, ...bad.args] : bad.args.includes('-c') ? bad.args : ['-c', '/dev/null', ...bad.args];
    const result = await runCli(args, { env: bad.env ?? {} });
    assert.equal(result.stderr, `exaproxy: ${bad.line.replace('CONF', conf ?? '')}\n`);
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
  });
}

test('bad input exits 1 with one line: a file the user may not read', async () => {
  const secret = file('secret.conf', '[tcp4]\nport = 1\n');
  // root reads any file, so as root the command runs as nobody on a root-only file.
  const asRoot = process.getuid?.() === 0;
  chmodSync(secret, asRoot ? 0o600 : 0o000);
  chmodSync(dir, 0o755);
  const user = asRoot ? { uid: 65534, gid: 65534, cwd: '/', env: { HOME: '/nonexistent' } } : {};
  const result = await runCli(['-c', secret, '-i'], user);
  assert.equal(result.stderr, `exaproxy: -c ${secret}: cannot read the configuration file: permission denied (check the file's owner and mode)\n`);
  assert.equal(result.status, 1);
});

/** Starts the proxy, waits for its start-up line, checks it accepts a connection, then sends `signal`. */
async function runAndStop(signal: NodeJS.Signals): Promise<void> {
  // http.connections within the open-file limit of any machine, so that no warning is printed.
  const conf = file(`run-${signal}.conf`, '[tcp4]\nport = 0\n[web]\nenable = false\n[http]\nconnections = 1000\n');
  const [command, argv] = cliCommand(['-c', conf]);
  const child = spawn(command, argv, cliSpawnOptions({ cwd: dir }));
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`exaproxy exited before listening: ${stderr}`)));
  });
  const match = new RegExp(`^exaproxy ${VERSION.replaceAll('.', '\\.')} listening on 127\\.0\\.0\\.1:(\\d+) \\(configuration: (.+)\\)$`).exec(line);
  assert.ok(match, `unexpected start-up line: ${line}`);
  assert.equal(match[2], conf);
  const socket = connect(Number(match[1]), '127.0.0.1');
  await once(socket, 'connect');
  socket.destroy();
  child.kill(signal);
  const [code, killedBy] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.equal(killedBy, null);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
}

test('the proxy starts, prints where it listens, and SIGTERM stops it with status 0', () => runAndStop('SIGTERM'));

test('SIGINT stops it with status 0 too', () => runAndStop('SIGINT'));

test('a proxy that cannot start exits 1 with one line', async () => {
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const port = (busy.address() as AddressInfo).port;
  try {
    const result = await runCli(['-c', '/dev/null', `--tcp4.port=${port}`, '--web.enable=false', '--http.connections=1000']);
    assert.equal(result.status, 1);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, result.stderr);
    assert.equal(lines[0], `exaproxy: tcp4.port ${port}: 127.0.0.1:${port} is already in use by another program; stop it or choose another tcp4.port`);
    assert.equal(result.stdout, '', 'no "listening on" line');
  } finally {
    busy.close();
  }
});

test('options set to a value this release ignores are reported at start', async () => {
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const port = (busy.address() as AddressInfo).port;
  try {
    // The port is taken so the command stops right after its start-up warnings.
    const result = await runCli(['-c', '/dev/null', `--tcp4.port=${port}`, '--daemon.speed=3', '--daemon.reactor=epoll', '--web.enable=false', '--http.connections=1000']);
    assert.equal(result.status, 1);
    const lines = result.stderr.split('\n');
    assert.equal(lines[0], 'exaproxy: warning: daemon.reactor = "epoll" (--daemon.reactor) is not implemented in this release and is ignored');
    assert.equal(lines[1], 'exaproxy: warning: daemon.speed = "3" (--daemon.speed) is not implemented in this release and is ignored');
    assert.match(lines[2]!, /^exaproxy: tcp4\.port \d+: /);
  } finally {
    busy.close();
  }
});

/**
 * The shipped systemd unit, as it is: `systemd-analyze verify` accepts it, it names only what
 * the package provides, and exaproxy runs under its sandbox. systemd is not running here, so
 * the sandbox is emulated with the tools it is made of: a private mount namespace
 * (ProtectSystem=strict: / read-only; PrivateTmp; ProtectHome), setpriv (User=, AmbientCapabilities=CAP_NET_BIND_SERVICE, CapabilityBoundingSet,
 * NoNewPrivileges) and a seccomp filter refusing the address families the unit does not list
 * (RestrictAddressFamilies=; only AF_NETLINK can be refused by this filter).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { curl, until } from '../helpers/net';
import { cliCommand, ROOT } from '../helpers/run-cli';

const UNIT = join(ROOT, 'etc', 'systemd', 'exaproxy.service');
const text = readFileSync(UNIT, 'utf8');

/** The values of `key=` in the unit (a key may repeat). */
function values(key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

test('systemd-analyze verify accepts the unit as shipped', { skip: !has('systemd-analyze') && 'systemd-analyze is not installed' }, () => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warning either');
});

test('the unit runs the command the package installs, with no configuration file it does not ship, as a user it documents', () => {
  const [exec] = values('ExecStart');
  assert.equal(exec, '/usr/bin/env exaproxy', 'npm install -g puts exaproxy in /usr/local/bin or /usr/bin: found on the PATH');
  const bin = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
  assert.ok(bin['exaproxy'], 'package.json provides the exaproxy command');
  assert.doesNotMatch(exec!, /\s-c\s/, 'no -c FILE: without /etc/exaproxy/exaproxy.conf the defaults are used');
  const [user] = values('User');
  assert.equal(user, 'exaproxy');
  assert.match(text, /useradd --system .*exaproxy/, 'says how to create the user');
  const sysusers = readFileSync(join(ROOT, 'etc', 'systemd', 'exaproxy.sysusers'), 'utf8');
  assert.match(sysusers, /^u exaproxy /m, 'and ships a sysusers.d entry for it');
  assert.ok(values('RestrictAddressFamilies')[0]!.split(/\s+/).includes('AF_NETLINK'), 'AF_NETLINK: os.networkInterfaces() needs it');
  const kills = text.split('\n').filter((l) => l.includes('systemctl kill'));
  assert.ok(kills.length >= 4);
  for (const line of kills) assert.match(line, /--kill-whom=main/, `signals go to the primary only: ${line}`);
});

/** A free port below 1024 (the unit's CAP_NET_BIND_SERVICE is what allows it). */
async function privilegedPort(): Promise<number> {
  for (let port = 990; port < 1024; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 990..1023');
}

const canEmulate = process.getuid?.() === 0 && has('unshare') && has('setpriv') && existsSync('/usr/bin/python3');

test(
  'under the unit sandbox (emulated) exaproxy serves a port below 1024, and a request to a non-loopback address does not kill its worker without AF_NETLINK',
  { skip: !canEmulate && 'needs root, unshare, setpriv and /usr/bin/python3' },
  async () => {
    const own = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
    const origin = createHttpServer((_req, res) => res.end('origin body\n'));
    await new Promise<void>((resolve) => origin.listen(0, '0.0.0.0', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    const port = await privilegedPort();
    const [node, argv] = cliCommand([]);
    const hidden = /^\/(tmp|root|home)\//.test(ROOT);
    const sandbox = [
      // ProtectSystem=strict, PrivateTmp=yes, ProtectHome=yes
      // The tmpfs mounts would hide a checkout under /tmp, /root or /home (a package is
      // installed under /usr): it is kept at its own path, bound through /mnt.
      ...(hidden ? [`mount --bind '${ROOT}' /mnt &&`] : []),
      'mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs tmpfs /root && mount -t tmpfs tmpfs /home &&',
      ...(hidden ? [`mkdir -p '${ROOT}' && mount --bind /mnt '${ROOT}' &&`] : []),
      'mount -o remount,bind,ro / &&',
      // (LimitNOFILE= is not emulated: raising the hard limit needs CAP_SYS_RESOURCE; see http.connections below)
      'exec',
      // User= (nobody stands for exaproxy), AmbientCapabilities=, CapabilityBoundingSet=, NoNewPrivileges=yes
      'setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs',
      // RestrictAddressFamilies= without AF_NETLINK: what the unit shipped before
      `/usr/bin/python3 ${join(ROOT, '__test__', 'helpers', 'no-netlink.py')}`,
      '"$@"',
    ].join(' ');
    // The options as Environment= lines would give them; the working folder is systemd's, /.
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      exaproxy_tcp4_port: String(port),
      exaproxy_web_enable: 'false',
      exaproxy_daemon_workers: '1',
      exaproxy_log_level: 'WARNING',
      // Within this machine's open-file limit, so that no warning about it is printed.
      exaproxy_http_connections: '1000',
    };
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', sandbox, 'sh', node, ...argv], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      await until(() => stdout.includes('listening on') || child.exitCode !== null, 'exaproxy to listen in the sandbox', () => stdout + stderr);
      assert.match(stdout, new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(configuration: defaults\\)`), stdout + stderr);
      const proxy = `http://127.0.0.1:${port}`;
      if (own !== undefined) {
        // Its own addresses are unknown without netlink: said once, and the worker lives on.
        const r = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, `http://${own}:${originPort}/`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^[1-5]\d\d$/, 'an HTTP answer, not a dropped connection');
        const again = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, `http://${own}:${originPort}/`]);
        assert.match(again.stdout, /^[1-5]\d\d$/);
        assert.equal(stderr.match(/cannot list this machine's addresses/g)?.length, 1, stderr);
      }
      const local = await curl(['-s', '-w', ' %{http_code}', '-x', proxy, 'http://127.0.0.1:9/']);
      assert.match(local.stdout, / 403$/, 'loopback is still refused as local');
      assert.doesNotMatch(stdout + stderr, /died|starting a replacement/, 'no worker died');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      origin.close();
    }
    assert.equal(child.exitCode, 0, stdout + stderr);
  },
);

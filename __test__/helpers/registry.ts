/**
 * A local npm registry (verdaccio, a devDependency) for the packaging tests: loopback only,
 * storage in a temp folder. `@exaproxy/*` and `exaproxy` are served only from what the test
 * publishes (never looked up elsewhere, as a user's registry would have only the real
 * ones); every other package (pino…) is fetched through from the npm registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './exaproxy';
import { freePort, until } from './net';

export interface Registry {
  url: string;
  /** An npmrc that points at the registry and may publish to it. */
  userconfig: string;
  /**
   * The environment of a user's shell: node and npm on PATH but no cargo or rustc, a fresh
   * npm cache and home, no npm settings from the machine or from the test runner.
   */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(dir, 'storage')}`,
      'auth:',
      `  htpasswd: { file: ${join(dir, 'htpasswd')}, max_users: -1 }`,
      'uplinks:',
      '  npmjs: { url: https://registry.npmjs.org/, timeout: 60s }',
      'packages:',
      "  '@exaproxy/*': { access: $all, publish: $anonymous, unpublish: $anonymous }",
      "  'exaproxy': { access: $all, publish: $anonymous, unpublish: $anonymous }",
      "  '**': { access: $all, publish: $anonymous, proxy: npmjs }",
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio'), '-c', config, '-l', `127.0.0.1:${port}`], {
    cwd: dir,
    // The uplink is reached with the machine's CA list, as npm itself is (cafile).
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}:\n${log}`);
      return fetch(`${url}-/ping`).then(
        (r) => r.ok,
        () => false,
      );
    },
    'verdaccio to answer',
    () => log,
  );

  const userconfig = join(dir, 'npmrc');
  // verdaccio lets anyone publish these names ($anonymous); npm still wants a token to send.
  writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=local-test\ncafile=/etc/ssl/certs/ca-certificates.crt\n`);
  const globalconfig = join(dir, 'global-npmrc');
  writeFileSync(globalconfig, '');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: [join(process.execPath, '..'), '/usr/bin', '/bin'].join(':'),
    HOME: home,
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: globalconfig,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  });
  return {
    url,
    userconfig,
    env,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

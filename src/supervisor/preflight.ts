// Before anything listens: every file the configuration names is checked as the user who will
// use it. Started as root, that is daemon.user: the workers (and the primary once the first
// workers listen) run as it, open the access log, reopen the logs, run the helpers, read the
// pages, remove the pidfile and re-read the configuration on reload. A file that user cannot
// use stops the command with one line, rather than every worker failing later.
// Log files (and pidfiles) are checked, not opened early: the worker opens them itself, as the
// user that will also reopen them after a rotation.
import { chownSync, existsSync, mkdirSync, openSync, closeSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from '../config';
import { sourceOf } from '../config/load';
import { usesIcapService } from '../config/types';
import { denial, MISSING, withGroups, type Need, type Who } from './access';
import { lookupUser } from './privileges';
import { StartError } from './start-errors';

/** daemon.user when started as root (unless it is root or empty): the user the processes switch to. */
export function runAsUser(config: Config): string | undefined {
  const user = config.daemon.user;
  return process.getuid?.() === 0 && user !== 'root' && user !== '' ? user : undefined;
}

interface Check {
  /** how the error names it: "usage.destination /var/log/x.log" */
  label: string;
  path: string;
  need: Need;
  /** the end of the line: what to do */
  advice: (user: string) => string;
  /** the problem when it is not "not <need> by user U (role)" */
  problem?: (user: string, role: string) => string;
}

const WORD: Record<Need, string> = { read: 'readable', write: 'writable', run: 'executable', create: 'writable' };

function checks(config: Config, source: string, dropping: boolean): Check[] {
  const list: Check[] = [];
  const ownIt = (user: string): string => `create it owned by ${user} or choose another path`;
  if (dropping && source !== 'defaults') {
    list.push({
      label: `configuration file ${source}`,
      path: source,
      need: 'read',
      advice: (user) => `it is read again on reload and when a worker restarts; make it readable by ${user} or choose another daemon.user`,
    });
  }
  if (config.log.enable && config.log.destination.kind === 'file') {
    list.push({ label: `log.destination ${config.log.destination.path}`, path: config.log.destination.path, need: 'write', advice: ownIt });
  }
  if (config.usage.enable && config.usage.destination.kind === 'file') {
    list.push({ label: `usage.destination ${config.usage.destination.path}`, path: config.usage.destination.path, need: 'write', advice: ownIt });
  }
  /** A helper program of `option`, which daemon.user must be able to run. */
  const helper = (option: string, what: string, program: string): void => {
    list.push({
      label: `${option} ${program}`,
      path: program,
      need: 'run',
      advice: (user) => `install the ${what} where ${user} can run it (mode and every folder above it), or choose another ${option}`,
    });
  };
  // An ICAP service (icap-service://) runs no program.
  if (config.redirector.enable && !usesIcapService(config.redirector.protocol)) helper('redirector.program', 'helper', config.redirector.program.program);
  if (config.auth.enable) helper('auth.program', 'auth helper', config.auth.program.program);
  if (config.acl.enable) helper('acl.program', 'external ACL helper', config.acl.program.program);
  // The shipped pages are optional (built-in ones replace what cannot be read): only a folder
  // the operator chose is checked (it must exist: a typo would silently give built-in pages),
  // with each page in it.
  if (sourceOf(config, 'web.html') !== undefined) {
    const html = config.web.html;
    const advice = (user: string): string => `make it readable by ${user} or choose another web.html`;
    list.push({ label: `web.html ${html}`, path: html, need: 'read', advice });
    try {
      for (const name of readdirSync(html)) {
        if (name.endsWith('.html')) list.push({ label: `web.html ${join(html, name)}`, path: join(html, name), need: 'read', advice });
      }
    } catch {
      // unreadable folder: reported by the check above
    }
  }
  // Read by each worker at start, after the switch; one the operator named must exist.
  const resolver = config.dns.resolver;
  if (resolver !== '' && (sourceOf(config, 'dns.resolver') !== undefined || (dropping && existsSync(resolver)))) {
    const file = config.dns.resolver;
    list.push({ label: `dns.resolver ${file}`, path: file, need: 'read', advice: (user) => `make it readable by ${user} or choose another dns.resolver` });
  }
  if (dropping && config.daemon.pidfile !== '') {
    // Written as root before the switch, removed at exit by daemon.user: its folder must let it.
    const folder = dirname(config.daemon.pidfile);
    list.push({
      label: `daemon.pidfile ${config.daemon.pidfile}`,
      path: folder,
      need: 'create',
      problem: (user, role) => `its folder ${folder} is not writable by user ${user} (${role}), who removes the file at exit`,
      advice: (user) => `use a folder owned by ${user} (e.g. /run/exaproxy) or choose another path`,
    });
  }
  return list;
}

/**
 * Checks the files of `config` (loaded from `source`, a path or "defaults") as the user that
 * will use them; throws StartError with the line to print. Started as root, log files that do
 * not exist yet are created owned by daemon.user, so that every process can open them.
 */
export function preflight(config: Config, source: string): void {
  const user = runAsUser(config);
  let who: Who | undefined;
  if (user !== undefined) {
    const account = lookupUser(user);
    if (account === undefined) {
      throw new StartError(`exaproxy: daemon.user ${user}: no such user on this system; create it (e.g. useradd --system ${user}) or set daemon.user to an existing unprivileged user`);
    }
    if (account.uid === 0) {
      throw new StartError(`exaproxy: daemon.user ${user}: has uid 0, so exaproxy would keep running as root; choose an unprivileged user (or daemon.user=root to mean it)`);
    }
    who = withGroups(account);
  }
  const name = who?.name ?? currentUser();
  // After the switch (a reload) this process is daemon.user itself.
  const role = who !== undefined || name === config.daemon.user ? 'daemon.user' : 'the user running exaproxy';
  for (const check of checks(config, source, who !== undefined)) {
    const why = denial(check.path, check.need, who);
    if (why === undefined) continue;
    if (why === MISSING) throw new StartError(`exaproxy: ${check.label}: it does not exist; check the path`);
    const problem = check.problem?.(name, role) ?? `not ${WORD[check.need]} by user ${name} (${role})`;
    throw new StartError(`exaproxy: ${check.label}: ${problem}${why ? `: ${why}` : ''}; ${check.advice(name)}`);
  }
  if (who !== undefined) {
    if (config.log.enable && config.log.destination.kind === 'file') createOwned(config.log.destination.path, who);
    if (config.usage.enable && config.usage.destination.kind === 'file') createOwned(config.usage.destination.path, who);
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Creates a missing log file (and its missing folders) owned by `who`. */
function createOwned(path: string, who: Who): void {
  if (existsSync(path)) return;
  const created = mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (created !== undefined) {
    // mkdir -p made `created` and the folders below it: all of them become the user's.
    for (let d = dirname(path); d.length >= created.length; d = dirname(d)) chownSync(d, who.uid, who.gid);
  }
  closeSync(openSync(path, 'a', 0o640));
  chownSync(path, who.uid, who.gid);
}

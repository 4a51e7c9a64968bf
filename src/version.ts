/**
 * The package's own version and location, read once from package.json so that `exaproxy -v`,
 * the Via pseudonym and the monitor never disagree with what was installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder holding package.json. This file is src/version.ts when run through tsx and
 * dist/version.js once built: both sit one level below the package root.
 */
export const PACKAGE_ROOT: string = join(__dirname, '..');

function readVersion(): string {
  const text = readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8');
  const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error(`${PACKAGE_ROOT}/package.json has no "version" string`);
  return version;
}

/** `version` from package.json, e.g. "0.1.0". */
export const VERSION: string = readVersion();

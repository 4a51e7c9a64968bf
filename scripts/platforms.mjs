// The platform packages of napi.targets, named as @napi-rs/cli names them (npm/<platform>).
import { parseTriple } from '@napi-rs/cli';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

export function readPackage() {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}

/** [{ triple, abi: 'linux-x64-gnu', name: '@exaproxy/exaproxy-linux-x64-gnu', binary: 'exaproxy.linux-x64-gnu.node' }] */
export function platforms(pkg = readPackage()) {
  const { packageName, binaryName, targets } = pkg.napi;
  return targets.map((triple) => {
    const abi = parseTriple(triple).platformArchABI;
    return { triple, abi, name: `${packageName}-${abi}`, binary: `${binaryName}.${abi}.node` };
  });
}

/** The main package's optionalDependencies as published: every platform package at its version. */
export function optionalDependencies(pkg = readPackage()) {
  return Object.fromEntries(platforms(pkg).map((p) => [p.name, pkg.version]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

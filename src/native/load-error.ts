/**
 * The error shown when no native addon fits this machine: one line naming the platform,
 * what was tried and what to do. napi-rs's own error is a chain of every candidate's load
 * failure (WASI ones included) that tells a user nothing they can act on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../version';

/** `code` of the error, so that the command can print its message alone (bin/exaproxy.js). */
export const NO_ADDON = 'EXAPROXY_NO_ADDON';

/** Whether this Linux uses musl, decided the way the napi-rs loader (binding.js) decides it. */
function isMusl(): boolean {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    return !report.header?.glibcVersionRuntime;
  }
}

/** napi-rs's name of a platform: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc… */
export function platformName(platform: string = process.platform, arch: string = process.arch): string {
  if (platform === 'linux') return `linux-${arch}-${arch === 'arm' ? 'gnueabihf' : isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

const LIBC: Record<string, string> = { gnu: 'glibc', musl: 'musl' };

/** The first line of why `path` does not load, or '' when it does. */
function loadFailure(path: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(path);
    return '';
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  }
}

/** Where `name` is installed as seen from the package, or undefined. */
function installed(name: string): string | undefined {
  try {
    return require.resolve(`${name}/package.json`, { paths: [PACKAGE_ROOT] }).slice(0, -'/package.json'.length);
  } catch {
    return undefined;
  }
}

/** The one-line message for this machine. */
export function noAddonMessage(env: NodeJS.ProcessEnv = process.env): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    napi: { binaryName: string; packageName: string };
    optionalDependencies?: Record<string, string>;
  };
  const { binaryName, packageName } = pkg.napi;
  const here = platformName();
  const wanted = `${packageName}-${here}`;
  const local = join(PACKAGE_ROOT, `${binaryName}.${here}.node`);
  // A clone has the Rust sources and can build; an installed package has none.
  const build = existsSync(join(PACKAGE_ROOT, 'crates'))
    ? `build it: install Rust (https://rustup.rs) and run \`npm run build:native\` in ${PACKAGE_ROOT}`
    : 'build it from a clone of the exaproxy sources with Rust installed (https://rustup.rs): `npm install && npm start` there';

  const override = env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (override) {
    return `exaproxy: NAPI_RS_NATIVE_LIBRARY_PATH=${override} does not load on ${here} (${loadFailure(override)}). Fix: unset it, or point it to an ${binaryName}.${here}.node file`;
  }
  const prebuilt = Object.keys(pkg.optionalDependencies ?? {})
    .filter((name) => name.startsWith(`${packageName}-`))
    .map((name) => name.slice(packageName.length + 1));
  const tried = `tried ${local} and the package ${wanted}`;
  if (!prebuilt.includes(here)) {
    const list = prebuilt.length > 0 ? `prebuilt for ${prebuilt.join(', ')} only` : 'no prebuilt binaries in this package';
    return `exaproxy: no native addon for ${here} (${list}): ${tried}. Fix: ${build}`;
  }
  const at = installed(wanted);
  if (at) {
    const file = join(at, `${binaryName}.${here}.node`);
    return `exaproxy: the native addon for ${here} in ${file} does not load (${loadFailure(file) || 'refused by binding.js'}). Fix: install exaproxy again, or ${build}`;
  }
  // node_modules installed on one Linux and used on another (glibc vs musl): say which.
  const abi = here.split('-')[2];
  const sibling = prebuilt.find((p) => p !== here && p.startsWith(here.split('-').slice(0, 2).join('-')) && installed(`${packageName}-${p}`));
  const mismatch = sibling && abi && LIBC[abi] ? `; ${packageName}-${sibling} is installed, but it is for ${LIBC[sibling.split('-')[2]!] ?? sibling} and this system uses ${LIBC[abi]}` : '';
  return (
    `exaproxy: no native addon for ${here}: ${tried}, which is not installed${mismatch}. ` +
    `Fix: install exaproxy again on this machine with optional dependencies enabled (not --omit=optional, --no-optional or --ignore-optional), or ${build}`
  );
}

/** The error thrown by the loader: the message above, with a code instead of napi-rs's chain. */
export function noAddonError(): Error {
  return Object.assign(new Error(noAddonMessage()), { code: NO_ADDON });
}

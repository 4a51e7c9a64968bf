// `npm run fuzz -- --seconds=N`: builds the libFuzzer targets of crates/exaproxy-http/fuzz
// (cargo-fuzz, nightly Rust) and runs each for N seconds (default 60), one after the other:
// first its regression inputs (fixtures/fuzz/regressions/<target>/, every crash found so far),
// then fuzzing from the committed seeds (fixtures/fuzz/seeds/<target>/) and the corpus kept
// between runs in target/fuzz/corpus/<target>/. httparse_differential also reads the
// parse_request corpus, so every input found there is compared with httparse.
//
//   --only=a,b      only these targets
//   --seeds         rewrite the seeds taken from the repository (scripts/fuzz-seeds.mjs)
//   --differences   list the httparse disagreements in the corpus, by category, and stop
//
// Without the nightly toolchain it says so in one line and exits 0 (the targets need it);
// without cargo-fuzz it says how to install it and exits 1. Any crash fails with the path of
// the saved input and how to replay it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSeeds } from "./fuzz-seeds.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const crate = join(root, "crates/exaproxy-http/fuzz");
const work = join(root, "target/fuzz");
const TARGETS = ["parse_request", "parse_response", "scan_chunked", "parse_proxy_header", "peek_sni", "httparse_differential", "parse_icap_request"];
/** Whose seeds and corpus a target reads besides its own. */
const SHARES = { httparse_differential: "parse_request" };

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.split("=")[1];
const known = ["seconds", "only", "seeds", "differences"];
for (const a of args) {
  if (!known.includes(a.replace(/^--/, "").split("=")[0])) fail(`fuzz: unknown argument ${a}: accepted --seconds=N, --only=a,b, --seeds, --differences`);
}
const secondsText = option("seconds") ?? "60";
const seconds = Number(secondsText);
if (!/^\d+$/.test(secondsText) || seconds < 1) fail(`fuzz: --seconds=${secondsText}: expected a whole number of seconds, 1 or more`);
const only = option("only")?.split(",") ?? TARGETS;
for (const t of only) if (!TARGETS.includes(t)) fail(`fuzz: --only=${t}: expected some of ${TARGETS.join(", ")}`);

function fail(line) {
  console.error(line);
  process.exit(1);
}

function run(cmd, argv, options = {}) {
  return spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 1 << 30, ...options });
}

if (args.includes("--seeds")) {
  writeSeeds(root);
  process.exit(0);
}

const nightly = run("cargo", ["+nightly", "--version"]);
if (nightly.status !== 0) {
  console.log("fuzz: skipped: the nightly Rust toolchain is not installed (rustup toolchain install nightly); the libFuzzer targets need it");
  process.exit(0);
}
if (run("cargo", ["+nightly", "fuzz", "--version"]).status !== 0) {
  fail("fuzz: cargo-fuzz is missing: install it with `cargo install cargo-fuzz`");
}
const host = /^host: (\S+)$/m.exec(run("rustc", ["+nightly", "-vV"]).stdout)?.[1];
const bin = (t) => join(crate, "target", host, "release", t);

console.log("fuzz: building the targets (cargo +nightly fuzz build)");
const build = run("cargo", ["+nightly", "fuzz", "build"], { cwd: crate, stdio: "inherit" });
if (build.status !== 0) fail("fuzz: the targets do not build (see above)");

const env = { ...process.env, ASAN_OPTIONS: "detect_odr_violation=0" };
const files = (dir) => (existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : []);

if (args.includes("--differences")) {
  const dirs = [join(work, "corpus/parse_request"), join(root, "fixtures/fuzz/seeds/parse_request")].filter(existsSync);
  const r = run(bin("httparse_differential"), ["-runs=0", ...dirs], { env: { ...env, HTTPARSE_DIFFERENCES: "list" } });
  const counts = new Map();
  for (const m of r.stderr.matchAll(/^difference: (.*?): "/gm)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  for (const [category, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(7)}  ${category}`);
  process.exit(r.status === 0 ? 0 : 1);
}

let failed = 0;
for (const t of only) {
  const logs = join(work, "logs");
  const corpus = join(work, "corpus", t);
  const artifacts = join(work, "artifacts", t) + "/";
  for (const dir of [logs, corpus, artifacts]) mkdirSync(dir, { recursive: true });
  const log = join(logs, `${t}.log`);
  const name = SHARES[t] ?? t;

  const regressions = files(join(root, "fixtures/fuzz/regressions", name));
  if (regressions.length > 0) {
    const r = run(bin(t), [`-artifact_prefix=${artifacts}`, ...regressions], { env });
    if (r.status !== 0) {
      writeFileSync(log, r.stderr);
      console.error(`fuzz: ${t}: a regression input fails again (log: ${relative(root, log)})`);
      console.error(r.stderr.split("\n").filter((l) => /panicked|Running:|assert/.test(l)).slice(0, 6).join("\n"));
      failed++;
      continue;
    }
  }

  const dirs = [corpus, join(root, "fixtures/fuzz/seeds", name)];
  if (SHARES[t]) dirs.push(join(work, "corpus", name));
  const n = regressions.length;
  const replayed = n === 0 ? "no regression inputs" : `${n} regression input${n === 1 ? " passes" : "s pass"}`;
  console.log(`fuzz: ${t}: ${replayed}; fuzzing for ${seconds} s`);
  const r = run(bin(t), [`-max_total_time=${seconds}`, `-artifact_prefix=${artifacts}`, "-print_final_stats=1", ...dirs.filter(existsSync)], { env });
  writeFileSync(log, r.stderr);
  const done = /#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/.exec(r.stderr);
  if (r.status === 0 && done) {
    console.log(`fuzz: ${t}: ${done[1]} runs, coverage ${done[2]} edges / ${done[3]} features, corpus ${done[4]} inputs: no failure`);
    continue;
  }
  failed++;
  const saved = /Test unit written to (\S+)/.exec(r.stderr)?.[1];
  console.error(`fuzz: ${t}: FAILED (log: ${relative(root, log)})`);
  console.error(r.stderr.split("\n").filter((l) => /panicked|assert|not listed|ERROR: /.test(l)).slice(0, 6).join("\n"));
  if (saved) {
    console.error(`fuzz: ${t}: the input is saved at ${relative(root, saved)}; replay it with`);
    console.error(`  (cd crates/exaproxy-http/fuzz && cargo +nightly fuzz run ${t} ${relative(crate, saved)})`);
    console.error(`  and once fixed keep it: cp ${relative(root, saved)} fixtures/fuzz/regressions/${name}/<what-it-is>`);
  }
}
process.exit(failed === 0 ? 0 : 1);

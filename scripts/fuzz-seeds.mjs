// Writes the committed seed corpora of the cargo-fuzz targets (fixtures/fuzz/seeds/<target>/)
// from what the repository already holds: every case of the smuggling corpus
// (fixtures/smuggling, format in its README) and the records captured from real
// clients and HAProxy in crates/exaproxy-http/tests/{sni,proxy_protocol}.rs.
// Run by `node scripts/fuzz.mjs --seeds`; files it did not write are left alone.
//
// Each target reads a leading mode byte (the fuzz targets' doc comments say what it
// picks), so each seed is that byte followed by the input.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ORIGIN = "127.0.0.1:8080";
// Method ids of abi::method, for the response cases' `kind: response METHOD`.
const METHODS = ["OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/** `{repeat N}text{/repeat}`, then the escapes of the corpus format, into bytes. */
function caseBytes(raw) {
  const text = raw.replace(/\{repeat (\d+)\}([\s\S]*?)\{\/repeat\}/g, (_, n, body) => body.repeat(Number(n)));
  const out = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      const e = text[++i];
      if (e === "x") {
        out.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push({ r: 13, n: 10, t: 9, "\\": 92, "{": 123 }[e]);
    } else if (text.startsWith("{origin}", i)) {
      out.push(...Buffer.from(ORIGIN));
      i += "{origin}".length - 1;
    } else out.push(...Buffer.from(c));
  }
  return Buffer.from(out);
}

/** The cases of one corpus file: { name, kind, data }. */
function cases(text) {
  const found = [];
  let current = null;
  let inData = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("=== ")) {
      current = { name: line.slice(4).trim(), kind: "request", raw: "" };
      found.push(current);
      inData = false;
    } else if (!current || line.startsWith("#")) {
      continue;
    } else if (inData) {
      current.raw += line;
    } else if (line.startsWith("data:")) {
      inData = true;
    } else if (line.startsWith("kind:")) {
      current.kind = line.slice(5).trim();
    }
  }
  return found.map((c) => ({ name: c.name, kind: c.kind, data: caseBytes(c.raw) }));
}

/** `const NAME: [u8; N] = [0x.., …];` and `const NAME: &[u8] = b"…";` of a Rust file. */
function capturedRecords(file) {
  const text = readFileSync(file, "utf8");
  const records = [];
  for (const m of text.matchAll(/const (\w+): \[u8; \d+\] = \[([^\]]*)\];/g)) {
    const bytes = m[2].match(/0x[0-9a-fA-F]{2}/g) ?? [];
    if (bytes.length > 16) records.push({ name: m[1].toLowerCase(), data: Buffer.from(bytes.map((b) => parseInt(b, 16))) });
  }
  for (const m of text.matchAll(/const (\w+): &\[u8\] =\s*b"((?:[^"\\]|\\.)*)";/g)) {
    const s = m[2].replace(/\\r/g, "\r").replace(/\\n/g, "\n");
    records.push({ name: m[1].toLowerCase(), data: Buffer.from(s, "latin1") });
  }
  return records;
}

export function writeSeeds(root) {
  const seeds = join(root, "fixtures/fuzz/seeds");
  const out = new Map(["parse_request", "parse_response", "scan_chunked", "parse_proxy_header", "peek_sni"].map((t) => [t, []]));
  const smuggling = join(root, "fixtures/smuggling");
  for (const file of readdirSync(smuggling).filter((f) => f.endsWith(".txt")).sort()) {
    for (const c of cases(readFileSync(join(smuggling, file), "utf8"))) {
      if (c.kind.startsWith("response")) {
        const id = Math.max(0, METHODS.indexOf(c.kind.split(/\s+/)[1] ?? "GET"));
        // mode = id << 2: default limits (even), and the method the target derives from it.
        out.get("parse_response").push([`smuggling-${c.name}`, Buffer.concat([Buffer.from([id << 2]), c.data])]);
      } else {
        out.get("parse_request").push([`smuggling-${c.name}`, Buffer.concat([Buffer.from([0]), c.data])]);
      }
      const end = c.data.indexOf("\r\n\r\n");
      if (end >= 0 && /transfer-encoding:[^\r]*chunked/i.test(c.data.subarray(0, end).toString("latin1"))) {
        // Two cut points at a quarter and three quarters of the body.
        out.get("scan_chunked").push([`smuggling-${c.name}`, Buffer.concat([Buffer.from([64, 192]), c.data.subarray(end + 4)])]);
      }
    }
  }
  const tests = join(root, "crates/exaproxy-http/tests");
  for (const r of capturedRecords(join(tests, "proxy_protocol.rs"))) {
    out.get("parse_proxy_header").push([`captured-${r.name}`, Buffer.concat([Buffer.from([128]), r.data])]);
  }
  for (const r of capturedRecords(join(tests, "sni.rs"))) {
    out.get("peek_sni").push([`captured-${r.name}`, Buffer.concat([Buffer.from([128]), r.data])]);
  }
  for (const [target, files] of out) {
    const dir = join(seeds, target);
    mkdirSync(dir, { recursive: true });
    // Only the kinds of seed written here for this target are replaced: the other captured-*
    // seeds (curl's and node's requests and responses) were committed by hand and stay.
    const written = new Set(files.map(([name]) => name.slice(0, name.indexOf("-") + 1)));
    for (const f of readdirSync(dir).filter((f) => written.has(f.slice(0, f.indexOf("-") + 1)))) {
      rmSync(join(dir, f));
    }
    for (const [name, data] of files) writeFileSync(join(dir, name), data);
    console.log(`fuzz seeds: ${target}: ${files.length} from the repository`);
  }
}

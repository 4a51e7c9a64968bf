/**
 * `npm run soak -- --minutes=N`: one exaproxy with a url helper, under everything at once —
 * keep-alive load, idle connections, slowloris clients, CONNECT tunnels and uploads with
 * their sha256 checked, helpers killed now and then — sampled every second; the report
 * (soak.json, soak.svg) says pass or fail per verdict (verdicts.ts). Exit status 1 on a fail.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { soakChart } from './chart';
import { openIdle } from './idle';
import { baselineP99, keepAliveLoad, type Target } from './keepalive';
import { parseOptions } from './options';
import { startSoakOrigin } from './origin';
import { connectionsFor, raiseFileLimit, startSoakProxy } from './proxy';
import { Sampler } from './sampler';
import { slowloris } from './slowloris';
import { newTally, sleep } from './tally';
import { killHelpers, transfers } from './transfers';
import { verdicts } from './verdicts';

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const totalS = Math.round(o.minutes * 60);
  // exaproxy counts two files per client (client and upstream socket) and its workers split
  // the clients; this process holds one per client.
  const clients = o.idle + o.slowloris + o.keepalive + o.tunnels + o.uploads;
  raiseFileLimit(Math.max(clients + 2048, Math.ceil((2 * connectionsFor(o)) / o.workers) + 2048));
  const origin = await startSoakOrigin();
  const proxy = await startSoakProxy(o, origin.httpPort, origin.echoPort);
  const target: Target = { proxyPort: proxy.port, originPort: origin.httpPort };
  console.log(`soak: exaproxy on 127.0.0.1:${proxy.port} (monitor ${proxy.monitorPort}), ${totalS} s; unloaded latency first (5 s)`);
  try {
    const baseline = await baselineP99(target, o.keepalive, o.rate, 5);
    await sleep(2500); // the pooled upstream connections of the baseline close (upstream-idle-timeout 2 s)
    const fdsBefore = proxy.fds();
    console.log(`soak: unloaded p99 ${baseline.p99.toFixed(1)} ms; ${fdsBefore} open files; starting the loads`);

    const tally = newTally();
    const sampler = new Sampler(proxy, tally, totalS);
    const endAt = Date.now() + totalS * 1000;
    const running = (): boolean => Date.now() < endAt;
    sampler.start();
    const started = Date.now();
    const loads = Promise.all([
      keepAliveLoad(target, o.keepalive, o.rate, tally, running),
      slowloris(proxy.port, o.slowloris, o.headerTimeout, tally, running),
      transfers(target, origin.echoPort, o.tunnels, o.uploads, tally, running),
      killHelpers(proxy.helpers, o.helperKillEvery, tally, running),
    ]);
    const idle = await openIdle(target, o.idle, tally, running);
    const idleReached = idle.length;
    const idleReadyS = Math.round((Date.now() - started) / 1000);
    console.log(`soak: ${idleReached} idle connections open after ${idleReadyS} s`);
    const warmupS = Math.min(totalS - 10, idleReadyS + Math.max(10, Math.round(totalS * 0.2)));
    await loads;
    sampler.stop();
    for (const s of idle) s.destroy();
    let fdsAfter = proxy.fds();
    for (let i = 0; i < 30 && fdsAfter > fdsBefore + o.fdSlack; i++) {
      await sleep(500); // closes reach the proxy; idle upstreams time out
      fdsAfter = proxy.fds();
    }
    // Unloaded again: on a shared machine the contention may have changed since the start; the
    // larger of the two unloaded figures is the reference.
    const after = await baselineP99(target, o.keepalive, o.rate, 5);
    console.log(`soak: unloaded p99 ${after.p99.toFixed(1)} ms after the load (${baseline.p99.toFixed(1)} ms before)`);
    const unloaded = { p99: Math.max(baseline.p99, after.p99), failures: baseline.failures + after.failures };

    const figures = { samples: sampler.samples, latencies: sampler.latencies, warmupS, baselineP99: unloaded.p99, baselineFailures: unloaded.failures, fdsBefore, fdsAfter, idleReached };
    const results = verdicts(o, tally, figures);
    const pass = results.every((v) => v.pass);
    const out = resolve(o.out);
    mkdirSync(out, { recursive: true });
    const title = `exaproxy soak, ${totalS} s: ${pass ? 'PASS' : 'FAIL'}`;
    writeFileSync(join(out, 'soak.json'), `${JSON.stringify({ title, options: o, pass, verdicts: results, notes: tally.notes, ...figures, latencies: undefined }, null, 1)}\n`);
    writeFileSync(join(out, 'soak.svg'), soakChart(sampler.samples, title, warmupS));
    console.log(`\n${title}`);
    for (const v of results) console.log(`  ${v.pass ? 'pass' : 'FAIL'}  ${v.name}: ${v.detail}`);
    if (tally.notes.length > 0) console.log(`  notes: ${tally.notes.slice(0, 5).join('; ')}`);
    console.log(`report: ${join(out, 'soak.json')}, ${join(out, 'soak.svg')}`);
    return pass ? 0 : 1;
  } finally {
    await proxy.stop();
    origin.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);

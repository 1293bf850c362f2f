#!/usr/bin/env node
// What the metering proxy costs, measured side by side in one run against three targets:
//   direct  the load generator talks to the test suite's fake provider;
//   ours    through `llm-usage proxy` (the built CLI, so this measures whatever the proxy is);
//   bare    through bench/bare-proxy.mjs, a pass-through on the proxy's own stack (node:http in,
//           undici out) that meters nothing: the floor, what the stack costs rather than ours.
// The same requests go to each (half streamed, 16 at a time: plain chat, an OpenAI chat stream
// that did not ask for usage, which the proxy asks for and then strips, its most expensive path,
// plain chat, an Anthropic stream) from a raw-socket load generator (bench/raw-client.mjs),
// timed to the last byte. Each run is four rounds, and each round takes the three targets in
// another order, so drift in the machine falls on all three alike; figures are medians over
// runs, with their range. Each proxy's CPU is read from /proc (every thread's on-CPU time,
// before and after each of its batches) and divided by its requests; so are the fake's and
// this process's, the client's.
//
// Twice: against an upstream that answers at once, where the machine is CPU-bound and the
// figure that matters is the proxy's CPU per request against the bare pass-through's; and
// against one that waits 20 ms first (a real model's first token takes hundreds), where what
// matters is the latency the proxy adds to each call and the throughput it keeps. Finally each
// proxy's own tally (its --json summary, on SIGINT) is checked against the calls it was sent.
// Last, in fresh processes with V8's GC trace on, the garbage each proxy leaves per request.
// A request to the instant upstream takes a fraction of the time, so that scenario sends four
// times as many per run: enough CPU time in each run for a ratio that is not mostly noise.
// Run after `npm run build` (under 3 minutes on 2 CPUs by default, even with other work on them):
//   node bench/proxy.mjs [requests per run and target at 20 ms=800] [concurrency=16] [runs=12]
//                        [requests per run and target at once=4 x the first]
//   WARMUP=2000 UPSTREAM_DELAY_MS=20 node bench/proxy.mjs   # requests to each target before measuring
//   REPLY_CHUNKS=200 node bench/proxy.mjs   # replies of 200 pieces: streams of 200 chunks, as long answers come
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { rawPool, requestBytes } from './raw-client.mjs';

const REQUESTS = Number(process.argv[2] ?? 800);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const RUNS = Number(process.argv[4] ?? 12);
const REQUESTS_INSTANT = Number(process.argv[5] ?? 4 * REQUESTS);
const WARMUP = Number(process.env.WARMUP ?? 2000);
const DELAY = Number(process.env.UPSTREAM_DELAY_MS ?? 20);
/** Replies of this many pieces (a stream's chunks), as a long answer comes; by default a few. */
const CHUNKS = Number(process.env.REPLY_CHUNKS ?? 0);
/** Tokens the fake reports for each call by default (11 in, 16 out). */
const TOKENS_PER_CALL = 27;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Starts a node program and resolves with it and the first stdout line matching `pattern`. */
function start(args, env, pattern) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve({ child, url: m[1], stderr: () => err, stdout: () => out });
    });
    child.on('exit', (code) => {
      reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      // Past start-up, a process under test that dies has spoilt the run.
      if (!child.stopping) {
        console.error(`${args[0]} exited ${code} during the bench: ${err}`);
        process.exit(1);
      }
    });
  });
}

/** Stops a started program; resolves with its stderr once it has exited. */
function stop(started, signal) {
  started.child.stopping = true;
  return new Promise((resolve) => {
    started.child.on('exit', () => resolve(started.stderr()));
    started.child.kill(signal);
  });
}

/**
 * CPU ms a process has used so far, all threads: their on-CPU time in ns from
 * /proc/<pid>/task/<tid>/schedstat, else utime + stime from /proc/<pid>/stat (10 ms ticks,
 * too coarse for one run's share); null where there is no /proc.
 */
function cpuMs(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
    } catch {
      return null;
    }
  }
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const messages = [{ role: 'user', content: 'Tell me a joke' }];
const openai = { authorization: 'Bearer sk-bench-0123456789' };
const KINDS = [
  { path: '/v1/chat/completions', headers: openai, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/chat/completions', headers: openai, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }) },
  { path: '/v1/chat/completions', headers: openai, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/messages', headers: { 'x-api-key': 'sk-ant-bench-0123456789', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 64, messages, stream: true }) },
];

/** A raw-socket client for one target: `send(i, lane)` makes request i on connection `lane`. */
function clientFor(origin) {
  const pool = rawPool(Number(new URL(origin).port), CONCURRENCY);
  const bytes = KINDS.map((k) => requestBytes(origin, k));
  return { send: (i, lane) => pool.connections[lane].send(bytes[i % bytes.length]), close: pool.close };
}

/** `count` requests, CONCURRENCY at a time; the latency of each, to its last byte, and the wall time. */
async function batch(client, count) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (next < count) {
        const t = performance.now();
        await client.send(next++, lane);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, wallMs: performance.now() - started };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const TARGETS = ['direct', 'ours', 'bare'];
/** Every order of the three targets; round i takes the (i mod 6)th. */
const ORDERS = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]].map((o) => o.map((i) => TARGETS[i]));

/**
 * Rounds per run. A run's requests go in this many rounds of a quarter each, every round to the
 * three targets in another order: the load a shared machine sees changes within seconds.
 */
const ROUNDS = 4;

/**
 * One scenario: a fake that waits `delayMs` before answering, our proxy and the bare one in
 * front of it; about `requests` to each target per run. Resolves with a record per run and
 * target ({ p50, p99, rps, cpu: µs per request of the proxy, the fake and the client }), and
 * the proxy's tally against what it was sent.
 */
async function scenario(delayMs, requests) {
  const perRound = Math.ceil(requests / ROUNDS);
  const perRun = perRound * ROUNDS;
  const fake = await start(
    [here('../test/support/fake-provider-cli.mjs'), '--port', '0', ...(delayMs || CHUNKS ? ['--reply', JSON.stringify({ delayMs, ...(CHUNKS ? { repeatChunks: CHUNKS } : {}) })] : [])],
    {},
    /"url":"([^"]+)"/,
  );
  const ours = await start(
    [here('../bin/llm-usage.js'), 'proxy', '--port', '0', '--quiet', '--json'],
    { OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null' },
    /OPENAI_BASE_URL=(http:\/\/[^/\s]+)\/v1/,
  );
  const bare = await start([here('./bare-proxy.mjs'), fake.url], {}, /"url":"([^"]+)"/);
  const proxyOf = { direct: null, ours: ours.child.pid, bare: bare.child.pid };
  const clients = { direct: clientFor(fake.url), ours: clientFor(ours.url), bare: clientFor(bare.url) };

  for (const name of TARGETS) await batch(clients[name], WARMUP);
  const cpuNow = (pid) => ({ proxy: pid && cpuMs(pid), fake: cpuMs(fake.child.pid), client: ownCpuMs() });
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const sums = Object.fromEntries(TARGETS.map((name) => [name, { latencies: [], wallMs: 0, cpuMs: { proxy: 0, fake: 0, client: 0 } }]));
    for (let i = r * ROUNDS; i < (r + 1) * ROUNDS; i++) {
      for (const name of ORDERS[i % ORDERS.length]) {
        const before = cpuNow(proxyOf[name]);
        const b = await batch(clients[name], perRound);
        const after = cpuNow(proxyOf[name]);
        const sum = sums[name];
        sum.latencies.push(...b.latencies);
        sum.wallMs += b.wallMs;
        for (const k of Object.keys(sum.cpuMs)) sum.cpuMs[k] = before[k] == null ? null : sum.cpuMs[k] + after[k] - before[k];
      }
    }
    const run = {};
    for (const [name, sum] of Object.entries(sums)) {
      const cpu = Object.fromEntries(Object.entries(sum.cpuMs).map(([k, ms]) => [k, ms == null ? null : (ms * 1000) / perRun]));
      run[name] = { p50: quantile(sum.latencies, 0.5), p99: quantile(sum.latencies, 0.99), rps: (perRun / sum.wallMs) * 1000, cpu };
    }
    runs.push(run);
  }
  for (const c of Object.values(clients)) c.close();

  const stderr = await stop(ours, 'SIGINT');
  await Promise.all([stop(bare, 'SIGTERM'), stop(fake, 'SIGTERM')]);
  const summary = JSON.parse(stderr.slice(stderr.indexOf('{')));
  const sent = WARMUP + perRun * RUNS;
  const tally = {
    calls: summary.successful_requests,
    tokens: summary.total_tokens,
    failed: summary.failed_requests,
    sent,
    ok: summary.successful_requests === sent && summary.total_tokens === sent * TOKENS_PER_CALL && summary.failed_requests === 0,
  };
  return { delayMs, requests: perRun, runs, tally };
}

/** The median over runs of f(run), to `digits` decimals. */
const med = (runs, f, digits = 2) => median(runs.map(f)).toFixed(digits);
/** The same, with the range over runs. */
const medRange = (runs, f, digits = 2) => {
  const xs = runs.map(f);
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
};
const cpuRatio = (run) => run.ours.cpu.proxy / run.bare.cpu.proxy;
const hasProc = cpuMs(process.pid) !== null;

function report({ delayMs, requests, runs, tally }) {
  console.log(`upstream answers ${delayMs ? `after ${delayMs} ms` : 'at once'}: ${RUNS} runs of ${requests} requests to each target, after ${WARMUP} to warm up; median over runs (min–max)`);
  const w = 22;
  const row = (label, cells) => console.log(`  ${label.padEnd(7)}${cells.map((c) => c.padEnd(w)).join('')}`.trimEnd());
  row('', ['p50 ms', 'p99 ms', 'req/s']);
  for (const name of TARGETS) row(name, [medRange(runs, (r) => r[name].p50), medRange(runs, (r) => r[name].p99), medRange(runs, (r) => r[name].rps, 0)]);
  if (hasProc) {
    row('', ['CPU µs/req: proxy', 'fake', 'client']);
    const cpu = (name, k) => (runs[0][name].cpu[k] == null ? '–' : medRange(runs, (r) => r[name].cpu[k], 0));
    for (const name of TARGETS) row(name, ['proxy', 'fake', 'client'].map((k) => cpu(name, k)));
  }
  console.log(`  added p50: ours ${medRange(runs, (r) => r.ours.p50 - r.direct.p50)} ms, bare ${medRange(runs, (r) => r.bare.p50 - r.direct.p50)} ms`);
  console.log(`  throughput ratio: ours/direct ${medRange(runs, (r) => r.ours.rps / r.direct.rps)}, bare/direct ${medRange(runs, (r) => r.bare.rps / r.direct.rps)}`);
  if (hasProc) console.log(`  proxy/bare CPU per request: ${medRange(runs, cpuRatio)}`);
  console.log(`  proxy tally: ${tally.calls} calls, ${tally.tokens} tokens, ${tally.failed} failed (expected ${tally.sent}, ${tally.sent * TOKENS_PER_CALL}, 0)`);
}

/**
 * What each proxy leaves to the garbage collector per request, from V8's own account of every
 * young-generation collection (--trace-gc-nvp, in fresh processes, so the other figures are not
 * measured with tracing on): bytes allocated, bytes that lived long enough to be promoted to the
 * old generation, and scavenge time. Promotion is the one to watch: objects a request should have
 * dropped, kept alive by something long-lived (a Map that gained and lost an entry per call once
 * promoted 7.7 KB a request and tripled the scavenge time).
 */
async function gcScenario(requests) {
  const traced = ['--trace-gc-nvp'];
  const fake = await start([here('../test/support/fake-provider-cli.mjs'), '--port', '0'], {}, /"url":"([^"]+)"/);
  const procs = {
    ours: await start([...traced, here('../bin/llm-usage.js'), 'proxy', '--port', '0', '--quiet', '--json'], { OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null' }, /OPENAI_BASE_URL=(http:\/\/[^/\s]+)\/v1/),
    bare: await start([...traced, here('./bare-proxy.mjs'), fake.url], {}, /"url":"([^"]+)"/),
  };
  const rows = {};
  for (const [name, proc] of Object.entries(procs)) {
    const client = clientFor(proc.url);
    await batch(client, WARMUP);
    const from = proc.stdout().length;
    await batch(client, requests);
    client.close();
    const totals = { allocated: 0, promoted: 0, pause: 0 };
    for (const line of proc.stdout().slice(from).split('\n')) {
      if (!/ gc=s /.test(line)) continue;
      for (const key of Object.keys(totals)) totals[key] += Number(new RegExp(` ${key}=([\\d.]+)`).exec(line)?.[1] ?? 0);
    }
    rows[name] = { allocated: totals.allocated / requests / 1024, promoted: totals.promoted / requests, scavengeUs: (totals.pause * 1000) / requests };
  }
  await Promise.all([stop(procs.ours, 'SIGINT'), stop(procs.bare, 'SIGTERM'), stop(fake, 'SIGTERM')]);
  console.log(`garbage per request, ${requests} requests after ${WARMUP} to warm up (--trace-gc-nvp, fresh processes):`);
  for (const [name, r] of Object.entries(rows)) console.log(`  ${name.padEnd(7)}allocated ${r.allocated.toFixed(1)} KB, promoted ${r.promoted.toFixed(0)} B, scavenges ${r.scavengeUs.toFixed(1)} µs`);
}

console.log(`proxy bench: ${availableParallelism()} CPUs; half streamed, ${CONCURRENCY} at a time; ${CHUNKS ? `replies of ${CHUNKS} pieces; ` : ''}the targets in another order each round, ${ROUNDS} rounds a run`);
const instant = await scenario(0, REQUESTS_INSTANT);
report(instant);
const delayed = await scenario(DELAY, REQUESTS);
report(delayed);
await gcScenario(3 * REQUESTS_INSTANT);

console.log('');
if (hasProc) console.log(`proxy/bare CPU per request: ${med(instant.runs, cpuRatio)}        (target <= 1.3)`);
else console.log('proxy/bare CPU per request: not measured (no /proc)');
console.log(`added p50 at ${DELAY} ms upstream: ${med(delayed.runs, (r) => r.ours.p50 - r.direct.p50)} ms    (target < 1)`);
console.log(`throughput ratio at ${DELAY} ms upstream: ${med(delayed.runs, (r) => r.ours.rps / r.direct.rps)}   (target >= 0.95)`);
// The floor under the two targets above: what the same stack, metering nothing, adds and keeps in this run.
console.log(`  (the bare pass-through alone: added p50 ${med(delayed.runs, (r) => r.bare.p50 - r.direct.p50)} ms, throughput ratio ${med(delayed.runs, (r) => r.bare.rps / r.direct.rps)})`);
if (!instant.tally.ok || !delayed.tally.ok) {
  console.error("the proxy's tally does not match what was sent");
  process.exitCode = 1;
}

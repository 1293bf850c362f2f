#!/usr/bin/env node
// What the metering proxy adds: the same 1,000 requests (half streamed, 16 at a time) sent to
// the local fake provider directly and through `llm-usage proxy`, in interleaved rounds of one
// run. Prints the latency each way (p50, p99, to the last byte), the latency the proxy adds,
// and the throughput ratio. Targets: p50 added under 1 ms; throughput at least 0.8 of direct.
//
// The fake, the proxy and this load generator are three processes, as in use; with fewer than
// three CPUs they share them, and at concurrency 16 against a fake that answers at once the
// machine is CPU-bound, so the ratio then measures the proxy's CPU cost against the client's
// and the fake's together (printed per request). The one-at-a-time figures show the latency
// the proxy adds without that queueing. Streams are an OpenAI chat stream that did not ask for
// usage (the proxy asks for it, then strips it: its most expensive path) and an Anthropic
// stream, in turn. Finally the proxy's own tally is checked against what was sent.
//
// UPSTREAM_DELAY_MS=20 makes the fake wait that long before answering, as any real model does
// (real time to first token is hundreds of ms): the proxy's cost is then measured against the
// latency a user sees rather than against a saturated CPU.
// Run after `npm run build`:
//   node bench/proxy.mjs [requests=1000] [concurrency=16] [rounds=4]
//   UPSTREAM_DELAY_MS=20 node bench/proxy.mjs
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const REQUESTS = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ROUNDS = Number(process.argv[4] ?? 4);
const WARMUP = Number(process.env.WARMUP ?? 3000);
const DELAY = Number(process.env.UPSTREAM_DELAY_MS ?? 0);
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
      if (m) resolve({ child, match: m, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

const fake = await start(
  [here('../test/support/fake-provider-cli.mjs'), '--port', '0', ...(DELAY ? ['--reply', JSON.stringify({ delayMs: DELAY })] : [])],
  {},
  /"url":"([^"]+)"/,
);
const fakeUrl = fake.match[1];
const proxy = await start(
  [here('../bin/llm-usage.js'), 'proxy', '--port', '0', '--quiet', '--json'],
  { OPENAI_BASE_URL: `${fakeUrl}/v1`, ANTHROPIC_BASE_URL: fakeUrl, NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null' },
  /OPENAI_BASE_URL=(http:\/\/[^/\s]+)\/v1/,
);
const proxyUrl = proxy.match[1];
// The floor: a bare node:http pass-through, so the figures say what is Node's and what is ours.
const bare = await start([here('./bare-proxy.mjs')], { OPENAI_BASE_URL: `${fakeUrl}/v1` }, /OPENAI_BASE_URL=(http:\/\/[^/\s]+)\/v1/);
const bareUrl = bare.match[1];

const TICKS_PER_MS = 100 / 1000; // USER_HZ on Linux
/** CPU ms a child has used so far (user + system), from /proc; null where there is no /proc. */
function cpuMs(child) {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
  } catch {
    return null;
  }
}
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const KINDS = [
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }) },
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/messages', headers: { 'x-api-key': 'sk-ant-bench-0123456789', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 64, messages, stream: true }) },
];

/** One request, timed to its last byte; resolves with milliseconds. */
function one(base, i) {
  const kind = KINDS[i % KINDS.length];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${kind.path}`, { method: 'POST', agent, headers: { ...kind.headers, 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${base}`));
      res.on('data', () => {});
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('error', reject);
    req.end(kind.body);
  });
}

/** `count` requests, `concurrency` at a time; the latency of each and the wall time. */
async function batch(base, count, concurrency = CONCURRENCY) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) latencies.push(await one(base, next++));
    }),
  );
  return { latencies, wallMs: performance.now() - started };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

await batch(fakeUrl, WARMUP);
await batch(proxyUrl, WARMUP);
await batch(bareUrl, WARMUP);
const fresh = () => ({ latencies: [], wallMs: 0, cpu: { client: 0, fake: 0, proxy: 0 } });
const runs = { direct: fresh(), proxied: fresh(), bare: fresh() };
const urlOf = { direct: fakeUrl, proxied: proxyUrl, bare: bareUrl };
const hasProc = cpuMs(fake.child) !== null;
const cpuNow = () => ({ client: ownCpuMs(), fake: cpuMs(fake.child), proxy: cpuMs(proxy.child) });
const perRound = Math.ceil(REQUESTS / ROUNDS);
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which goes first, so neither always meets a warmer machine.
  const order = r % 2 ? ['bare', 'proxied', 'direct'] : ['direct', 'proxied', 'bare'];
  for (const name of order) {
    const before = cpuNow();
    const b = await batch(urlOf[name], perRound);
    const after = cpuNow();
    runs[name].latencies.push(...b.latencies);
    runs[name].wallMs += b.wallMs;
    for (const k of Object.keys(before)) runs[name].cpu[k] += (after[k] ?? 0) - (before[k] ?? 0);
  }
}
// One at a time: the proxy's own latency, without the queueing of a CPU-bound machine.
const serial = { direct: [], proxied: [] };
for (let r = 0; r < ROUNDS; r++) {
  serial.direct.push(...(await batch(fakeUrl, 100, 1)).latencies);
  serial.proxied.push(...(await batch(proxyUrl, 100, 1)).latencies);
}
agent.destroy();

// The proxy's summary: every proxied request, counted exactly.
const summary = await new Promise((resolve) => {
  proxy.child.removeAllListeners('exit');
  proxy.child.on('exit', () => resolve(JSON.parse(proxy.stderr().slice(proxy.stderr().indexOf('{')))));
  proxy.child.kill('SIGINT');
});
fake.child.kill('SIGTERM');
bare.child.removeAllListeners('exit');
bare.child.kill('SIGTERM');

const sent = WARMUP + perRound * ROUNDS + 100 * ROUNDS;
const expectedTokens = sent * 27;
const stat = (name) => {
  const l = runs[name].latencies;
  return { p50: quantile(l, 0.5), p99: quantile(l, 0.99), rps: (l.length / runs[name].wallMs) * 1000 };
};
const d = stat('direct');
const p = stat('proxied');
const added50 = p.p50 - d.p50;
const added99 = p.p99 - d.p99;
const ratio = p.rps / d.rps;
const f = stat('bare');
console.log(`proxy: ${perRound * ROUNDS} requests each way (half streamed), concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds, after ${WARMUP} warm-up requests each way, ${availableParallelism()} CPUs, upstream answers ${DELAY ? `after ${DELAY} ms` : 'at once'}`);
console.log(`  direct    p50 ${d.p50.toFixed(2)} ms   p99 ${d.p99.toFixed(2)} ms   ${d.rps.toFixed(0)} req/s`);
console.log(`  proxied   p50 ${p.p50.toFixed(2)} ms   p99 ${p.p99.toFixed(2)} ms   ${p.rps.toFixed(0)} req/s`);
console.log(`  added     p50 ${added50.toFixed(2)} ms (target < 1 ms)   p99 ${added99.toFixed(2)} ms`);
console.log(`  throughput ratio ${ratio.toFixed(2)} (target >= 0.8)`);
console.log(`  floor: a bare node:http pass-through (no metering) adds p50 ${(f.p50 - d.p50).toFixed(2)} ms, throughput ratio ${(f.rps / d.rps).toFixed(2)}; llm-usage proxy / bare: ${(p.rps / f.rps).toFixed(2)}`);
const s50 = quantile(serial.proxied, 0.5) - quantile(serial.direct, 0.5);
const s99 = quantile(serial.proxied, 0.99) - quantile(serial.direct, 0.99);
console.log(`  one at a time (${serial.direct.length} each way): added p50 ${s50.toFixed(2)} ms, p99 ${s99.toFixed(2)} ms`);
const perCall = (ms) => `${((ms * 1000) / (perRound * ROUNDS)).toFixed(0)} µs`;
if (hasProc) {
  // /proc counts in 10 ms ticks: a few per cent of noise at these totals.
  const c = runs.proxied.cpu;
  console.log(`  CPU per request through the proxy: client ${perCall(c.client)}, fake ${perCall(c.fake)}, proxy ${perCall(c.proxy)} (direct: client ${perCall(runs.direct.cpu.client)}, fake ${perCall(runs.direct.cpu.fake)})`);
}
console.log(`  proxy tally: ${summary.successful_requests} calls, ${summary.total_tokens} tokens (expected ${sent}, ${expectedTokens})`);
if (summary.successful_requests !== sent || summary.total_tokens !== expectedTokens || summary.failed_requests !== 0) {
  console.error('the proxy\'s tally does not match what was sent');
  process.exitCode = 1;
}

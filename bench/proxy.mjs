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
import { rawPool, requestBytes } from './raw-client.mjs';

const REQUESTS = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const RUNS = Number(process.argv[4] ?? 9);
const ROUNDS = 4;
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

const CLIENT = process.env.CLIENT ?? 'raw';
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const KINDS = [
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }) },
  { path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-bench-0123456789' }, body: JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages }) },
  { path: '/v1/messages', headers: { 'x-api-key': 'sk-ant-bench-0123456789', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 64, messages, stream: true }) },
];

/**
 * A client per target: `send(i, lane)` makes request i on connection `lane` and resolves
 * when its last byte has come. CLIENT=node:http uses Node's own client instead (heavier).
 */
function clientFor(base) {
  if (CLIENT === 'node:http') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const send = (i) => {
      const kind = KINDS[i % KINDS.length];
      return new Promise((resolve, reject) => {
        const req = http.request(`${base}${kind.path}`, { method: 'POST', agent, headers: { ...kind.headers, 'content-type': 'application/json' } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${base}`));
          res.on('data', () => {});
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(kind.body);
      });
    };
    return { send, close: () => agent.destroy() };
  }
  const pool = rawPool(Number(new URL(base).port), CONCURRENCY);
  const bytes = KINDS.map((k) => requestBytes(base, k));
  return { send: (i, lane) => pool.connections[lane].send(bytes[i % bytes.length]), close: pool.close };
}

/** `count` requests, `concurrency` at a time; the latency of each, to its last byte, and the wall time. */
async function batch(client, count, concurrency = CONCURRENCY) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
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

const clients = { direct: clientFor(fakeUrl), proxied: clientFor(proxyUrl), bare: clientFor(bareUrl) };
for (const c of Object.values(clients)) await batch(c, WARMUP);
const hasProc = cpuMs(fake.child) !== null;
const cpuNow = () => ({ client: ownCpuMs(), fake: cpuMs(fake.child), proxy: cpuMs(proxy.child), bare: cpuMs(bare.child) });
const cpu = { direct: {}, proxied: {}, bare: {} };
/** Each run: REQUESTS to each target in turn; per target its p50, p99 and requests per second. */
const results = [];
for (let r = 0; r < RUNS; r++) {
  // Rotate which goes first, so none always meets a warmer machine.
  const order = ['direct', 'proxied', 'bare'].map((_, i, all) => all[(i + r) % all.length]);
  const run = {};
  for (const name of order) {
    const before = cpuNow();
    const b = await batch(clients[name], REQUESTS);
    const after = cpuNow();
    run[name] = { p50: quantile(b.latencies, 0.5), p99: quantile(b.latencies, 0.99), rps: (REQUESTS / b.wallMs) * 1000 };
    for (const k of Object.keys(before)) cpu[name][k] = (cpu[name][k] ?? 0) + (after[k] ?? 0) - (before[k] ?? 0);
  }
  results.push(run);
}
// One at a time: the proxy's own latency, without the queueing of a CPU-bound machine.
const serial = { direct: [], proxied: [] };
for (let r = 0; r < ROUNDS; r++) {
  serial.direct.push(...(await batch(clients.direct, 100, 1)).latencies);
  serial.proxied.push(...(await batch(clients.proxied, 100, 1)).latencies);
}
for (const c of Object.values(clients)) c.close();

// The proxy's summary: every proxied request, counted exactly.
const summary = await new Promise((resolve) => {
  proxy.child.removeAllListeners('exit');
  proxy.child.on('exit', () => resolve(JSON.parse(proxy.stderr().slice(proxy.stderr().indexOf('{')))));
  proxy.child.kill('SIGINT');
});
fake.child.kill('SIGTERM');
bare.child.removeAllListeners('exit');
bare.child.kill('SIGTERM');

const sent = WARMUP + REQUESTS * RUNS + 100 * ROUNDS;
const expectedTokens = sent * 27;
const median = (xs) => quantile(xs, 0.5);
/** The median over runs of f(run), and its range. */
const over = (f, digits = 2) => {
  const xs = results.map(f);
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
};
console.log(`proxy: ${RUNS} runs of ${REQUESTS} requests each way (half streamed), concurrency ${CONCURRENCY}, after ${WARMUP} warm-up requests each way; ${availableParallelism()} CPUs, ${CLIENT} client, upstream answers ${DELAY ? `after ${DELAY} ms` : 'at once'}`);
console.log('  median over runs (range):');
console.log(`  direct    p50 ${over((r) => r.direct.p50)} ms   p99 ${over((r) => r.direct.p99)} ms   ${over((r) => r.direct.rps, 0)} req/s`);
console.log(`  proxied   p50 ${over((r) => r.proxied.p50)} ms   p99 ${over((r) => r.proxied.p99)} ms   ${over((r) => r.proxied.rps, 0)} req/s`);
console.log(`  added     p50 ${over((r) => r.proxied.p50 - r.direct.p50)} ms (target < 1 ms)   p99 ${over((r) => r.proxied.p99 - r.direct.p99)} ms`);
console.log(`  throughput ratio ${over((r) => r.proxied.rps / r.direct.rps)} (target >= 0.8)`);
console.log(`  floor, a bare node:http pass-through that meters nothing: adds p50 ${over((r) => r.bare.p50 - r.direct.p50)} ms, throughput ratio ${over((r) => r.bare.rps / r.direct.rps)}`);
const s50 = quantile(serial.proxied, 0.5) - quantile(serial.direct, 0.5);
const s99 = quantile(serial.proxied, 0.99) - quantile(serial.direct, 0.99);
console.log(`  one at a time (${serial.direct.length} each way): added p50 ${s50.toFixed(2)} ms, p99 ${s99.toFixed(2)} ms`);
const perCall = (ms) => `${((ms * 1000) / (REQUESTS * RUNS)).toFixed(0)} µs`;
if (hasProc) {
  // /proc counts in 10 ms ticks: a few per cent of noise at these totals.
  const c = cpu.proxied;
  console.log(`  CPU per request through the proxy: client ${perCall(c.client)}, fake ${perCall(c.fake)}, proxy ${perCall(c.proxy)} (direct: client ${perCall(cpu.direct.client)}, fake ${perCall(cpu.direct.fake)}; bare pass-through: ${perCall(cpu.bare.bare)})`);
}
console.log(`  proxy tally: ${summary.successful_requests} calls, ${summary.total_tokens} tokens (expected ${sent}, ${expectedTokens})`);
if (summary.successful_requests !== sent || summary.total_tokens !== expectedTokens || summary.failed_requests !== 0) {
  console.error('the proxy\'s tally does not match what was sent');
  process.exitCode = 1;
}

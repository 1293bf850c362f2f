#!/usr/bin/env node
// CPU time of `llm-usage stream --usage` against @langchain/openai consuming the same
// 50,000-chunk stream from the local fake provider, as whole processes, interleaved rounds.
// The fake runs in this process, so its work is in neither figure. Also: what the fallback
// count costs (the same stream without --usage: a cold tiktoken encoder plus the count).
// Run after `npm run build`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeProvider } from '../test/support/fake-provider.mjs';

const CHUNKS = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const bin = here('../bin/llm-usage.js');
const cpuHook = here('./report-cpu.mjs');
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-bench-'));

const fake = await startFakeProvider({
  defaultReply: { chunks: [' token'], repeatChunks: CHUNKS, usage: { input: 11, output: CHUNKS } },
});
const env = {
  ...process.env,
  NO_COLOR: '1',
  OPENAI_API_KEY: 'sk-bench',
  OPENAI_BASE_URL: `${fake.url}/v1`,
  LLM_USAGE_LEDGER: '/dev/null',
};

/** Runs a node program to completion; returns its own CPU ms and the bytes it printed. */
function cpuOf(args, name) {
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.txt`);
  return new Promise((resolve, reject) => {
    // stdin from /dev/null: with no prompt argument, stream reads a piped stdin to its end.
    const child = spawn(process.execPath, ['--import', cpuHook, ...args], { env: { ...env, CPU_REPORT_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (d) => (bytes += d.length));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${name} exited ${code}: ${err}`));
      resolve({ cpu: Number(readFileSync(file, 'utf8').trim()), bytes, err });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const runs = {
  ours: () => cpuOf([bin, 'stream', '--usage', '-m', 'gpt-4o-mini'], 'ours'),
  langchain: () => cpuOf([here('./langchain-stream.mjs')], 'langchain'),
  fallback: () => cpuOf([bin, 'stream', '-m', 'gpt-4o-mini'], 'fallback'),
  bare: () => cpuOf(['-e', '0'], 'bare'),
};
const cpu = { ours: [], langchain: [], fallback: [], bare: [] };

// One warm-up of each, then interleaved rounds.
for (const run of Object.values(runs)) await run();
const sample = await runs.ours();
if (!/Tokens Used\s+│\s+50,011/.test(sample.err.replace(/,(?=\d{3}\b)/g, ',')) && CHUNKS === 50_000) {
  console.error('llm-usage did not report the expected 50,011 tokens:\n' + sample.err);
  process.exitCode = 1;
}
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, run] of Object.entries(runs)) cpu[name].push((await run()).cpu);
}
await fake.close();
rmSync(dir, { recursive: true, force: true });

const m = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
const ratio = m.ours / m.langchain;
console.log(`stream: ${CHUNKS.toLocaleString()} chunks, ${ROUNDS} interleaved rounds, median CPU (user+system) per process`);
console.log(`  node -e 0                                ${m.bare.toFixed(0)} ms`);
console.log(`  llm-usage stream --usage                 ${m.ours.toFixed(0)} ms`);
console.log(`  @langchain/openai stream, usage on       ${m.langchain.toFixed(0)} ms`);
console.log(`  ratio llm-usage / langchain              ${ratio.toFixed(2)} (target < 1.0): ${ratio < 1 ? 'ok' : 'OVER TARGET'}`);
console.log(`  llm-usage stream without --usage         ${m.fallback.toFixed(0)} ms: the fallback count (cold tiktoken encoder + counting ${CHUNKS.toLocaleString()} tokens) adds ${(m.fallback - m.ours).toFixed(0)} ms`);
if (ratio >= 1) process.exitCode = 1;

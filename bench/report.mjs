#!/usr/bin/env node
// `llm-usage report` on a 1,000,000-line ledger against a plain Node loop that only reads the
// file and JSON-parses each line, as whole processes, interleaved rounds. Target: within 1.5x.
// Run after `npm run build`.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LINES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const bin = fileURLToPath(new URL('../bin/llm-usage.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-report-bench-'));
const ledger = join(dir, 'ledger.jsonl');

// A realistic ledger: several models, providers, commands and days; some estimated, failed, unpriced.
const models = [
  ['openai', 'gpt-4o-mini', 'openai/gpt-4o-mini'],
  ['openai', 'gpt-4o', 'openai/gpt-4o'],
  ['anthropic', 'claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
  ['openai', 'my-fine-tune', null],
];
const out = createWriteStream(ledger);
const start = Date.parse('2026-01-01T00:00:00Z');
for (let i = 0; i < LINES; i++) {
  const [provider, model, pricedAs] = models[i % models.length];
  const input = 100 + (i % 997);
  const output = 20 + (i % 311);
  const entry = {
    time: new Date(start + i * 29_000).toISOString(),
    command: ['run', 'stream', 'exec', 'proxy'][i % 4],
    run_id: `run-${Math.floor(i / 7)}`,
    provider,
    api: provider === 'anthropic' ? 'messages' : 'chat',
    model,
    priced_as: pricedAs,
    usage: { input_tokens: input, output_tokens: output, total_tokens: input + output, input_token_details: { cache_read: i % 3 ? 0 : 50, cache_creation: 0 }, output_token_details: { reasoning: 0 } },
    usage_source: i % 10 ? 'reported' : 'estimated',
    cost_usd: pricedAs ? (input * 0.15 + output * 0.6) / 1e6 : null,
    ok: i % 50 !== 0,
    error_kind: i % 50 ? null : 'http',
    status: i % 50 ? null : 429,
    duration_ms: 200 + (i % 900),
  };
  if (!out.write(JSON.stringify(entry) + '\n')) await new Promise((r) => out.once('drain', r));
}
await new Promise((r) => out.end(r));
const mb = statSync(ledger).size / 1e6;

// The baseline: read in 1 MB chunks, split lines, JSON.parse each, nothing else.
const baseline = `
  const { createReadStream } = require('node:fs');
  (async () => {
    let rest = '', n = 0;
    for await (const chunk of createReadStream(process.argv[1], { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const lines = (rest + chunk).split('\\n');
      rest = lines.pop();
      for (const l of lines) if (l) { JSON.parse(l); n++; }
    }
    if (rest) { JSON.parse(rest); n++; }
    console.log(n);
  })();`;

function time(args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout }) : reject(new Error(err))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ours = [];
const base = [];
let sample;
for (let i = 0; i < ROUNDS; i++) {
  base.push((await time(['-e', baseline, ledger])).ms);
  const r = await time([bin, 'report', '--ledger', ledger, '--by', 'model', '--json']);
  ours.push(r.ms);
  sample = r.stdout;
}
rmSync(dir, { recursive: true, force: true });

const requests = JSON.parse(sample).reduce((n, r) => n + r.requests, 0);
const ratio = median(ours) / median(base);
console.log(`report: ${LINES.toLocaleString()} ledger lines (${mb.toFixed(0)} MB), ${ROUNDS} interleaved rounds, median wall time`);
console.log(`  plain read + JSON.parse loop            ${median(base).toFixed(0)} ms`);
console.log(`  llm-usage report --by model --json      ${median(ours).toFixed(0)} ms (${requests.toLocaleString()} requests aggregated)`);
console.log(`  ratio ${ratio.toFixed(2)} (target <= 1.5): ${ratio <= 1.5 && requests === LINES ? 'ok' : 'OVER TARGET'}`);
if (ratio > 1.5 || requests !== LINES) process.exitCode = 1;

#!/usr/bin/env node
// Start-up cost of `llm-usage price --model gpt-4-turbo` against a bare `node -e 0`, as whole
// processes, interleaved so that machine noise hits both alike. Prints the median ratio; the
// target is under 2.0. Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/llm-usage.js', import.meta.url));
const rounds = Number(process.argv[2] ?? 30);
const env = { ...process.env, NO_COLOR: '1' };

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Warm the file cache for both before measuring.
time(['-e', '0']);
time([bin, 'price', '--model', 'gpt-4-turbo']);

const base = [];
const ours = [];
const ratios = [];
for (let i = 0; i < rounds; i++) {
  const b = time(['-e', '0']);
  const o = time([bin, 'price', '--model', 'gpt-4-turbo']);
  base.push(b);
  ours.push(o);
  ratios.push(o / b);
}
const ratio = median(ratios);
console.log(`startup: ${rounds} interleaved rounds`);
console.log(`  node -e 0                               median ${median(base).toFixed(1)} ms`);
console.log(`  llm-usage price --model gpt-4-turbo     median ${median(ours).toFixed(1)} ms`);
console.log(`  median ratio ${ratio.toFixed(2)} (target < 2.0): ${ratio < 2 ? 'ok' : 'OVER TARGET'}`);
process.exitCode = ratio < 2 ? 0 : 1;

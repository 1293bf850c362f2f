// Counting a very large call never stalls the proxy: a 20 MB prompt whose reply reports no
// usage (so both sides must be counted) goes through `llm-usage proxy` while 50 small calls
// run beside it, and the small calls' p99 latency rises by less than 50 ms over the same calls
// without it. The hand-written proxy blocked its event loop for 25 s on such a call.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';

const FAKE = fileURLToPath(new URL('../support/fake-provider-cli.mjs', import.meta.url));

// The upstream (the fake provider, reporting no usage) and the client of the large call are
// processes of their own, so this process only times the small calls: its own work on 20 MB
// would otherwise show up in what it measures.
const children: ChildProcess[] = [];
let proxy: ChildProcess;
let base = '';
let stderr = '';

/** Starts a node program and resolves with the first stdout match of `pattern`. */
function start(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, onErr?: (d: string) => void): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    onErr?.(d);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve({ child, match: m[1] as string });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

beforeAll(async () => {
  // Two fakes: the one that parses the 20 MB request is not the one answering the small calls.
  const [openai, anthropic] = await Promise.all([0, 1].map(() => start([FAKE, '--port', '0', '--reply', JSON.stringify({ usage: null })], {}, /"url":"([^"]+)"/)));
  const started = await start(
    [...(process.env.LOOPMON ? ['--import', process.env.LOOPMON] : []), BIN, 'proxy', '--port', '0', '--json'],
    { OPENAI_BASE_URL: `${openai?.match}/v1`, ANTHROPIC_BASE_URL: anthropic?.match, LLM_USAGE_LEDGER: '/dev/null', NO_COLOR: '1' },
    /^ANTHROPIC_BASE_URL=(\S+)$/m,
    (d) => (stderr += d),
  );
  proxy = started.child;
  base = started.match;
});
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** The large call, from a process of its own: a ~20 MB prompt of words that seldom repeat. */
const LARGE_CALL = `
let x = 7, words = [], n = 0;
while (n < 20_000_000) { x = (x * 1103515245 + 12345) % 2147483648; const w = x.toString(36); words.push(w); n += w.length + 1; }
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: words.join(' ') }] });
const r = await fetch(process.env.BASE + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
await r.text();
process.stdout.write('status ' + r.status + '\\n');
`;

async function call(content: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 20, messages: [{ role: 'user', content }] }),
  });
  await r.text();
  expect(r.status).toBe(200);
  return performance.now() - started;
}

/** 50 small calls, 5 at a time; their latencies. */
async function smallCalls(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) times.push(...(await Promise.all(Array.from({ length: 5 }, () => call('hi')))));
  return times;
}

const p99 = (times: number[]) => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.99) - 1] as number;

it('a 20 MB prompt without reported usage is counted off the event loop: 50 calls beside it add under 50 ms at p99', async () => {
  await smallCalls(); // warm up: connections, the encoder
  const before = await smallCalls();
  // The small calls run once the large call has been answered, while its 20 MB is counted
  // (its reply reports no usage): that counting is what must not stall the proxy. (Relaying
  // 20 MB is the network's work, and this test's machine has two cores for all of it.)
  const large = await start(['--input-type=module', '-e', LARGE_CALL], { BASE: base }, /^status (\d+)$/m);
  expect(large.match).toBe('200');
  const beside = await smallCalls();
  proxy.kill('SIGINT');
  await new Promise((resolve) => proxy.on('exit', resolve));
  const added = p99(beside) - p99(before);
  expect(added, `p99 ${p99(before).toFixed(1)} ms alone, ${p99(beside).toFixed(1)} ms beside the large call`).toBeLessThan(50);

  // And the large call is counted in full, as an estimate, after the small calls were answered.
  const summary = JSON.parse(stderr.slice(stderr.indexOf('{'))) as { calls: { usage_source: string; usage: { input_tokens: number } }[] };
  expect(summary.calls).toHaveLength(151);
  expect(summary.calls.every((c) => c.usage_source === 'estimated')).toBe(true);
  // It was recorded last: its counting went on while all 50 were answered.
  expect(summary.calls.at(-1)?.usage.input_tokens).toBeGreaterThan(3_000_000);
}, 120_000);

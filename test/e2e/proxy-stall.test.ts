// Counting a very large call never stalls the proxy: a 20 MB prompt whose reply reports no
// usage (so both sides must be counted) goes through `llm-usage proxy` while 50 small calls
// run beside it, and the small calls' p99 latency rises by less than 50 ms over the same calls
// without it. The hand-written proxy blocked its event loop for 25 s on such a call.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { seededRandom } from '../support/seeded-random.mjs';

let upstream: http.Server;
let proxy: ChildProcess;
let base = '';
let stderr = '';

/** A chat completion reply; the large call's reports no usage, so the proxy must count it. */
function reply(model: string, withUsage: boolean, content = 'ok'): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    ...(withUsage ? { usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } } : {}),
  });
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body = bytes > 1_000_000 ? reply('gpt-4o-mini', false, 'a long answer '.repeat(50_000)) : reply('gpt-4o-mini', true);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = spawn(process.execPath, [...(process.env.LOOPMON ? ['--import', process.env.LOOPMON, '--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), BIN, 'proxy', '--port', '0', '--json'], {
    env: { ...process.env, OPENAI_BASE_URL: `${url}/v1`, ANTHROPIC_BASE_URL: url, LLM_USAGE_LEDGER: '/dev/null', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proxy.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    proxy.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^OPENAI_BASE_URL=(\S+)$/m.exec(out);
      if (m) resolve(m[1] as string);
    });
    proxy.on('exit', (code) => reject(new Error(`proxy exited ${code}: ${stderr}`)));
  });
});
afterAll(async () => {
  if (proxy.exitCode === null) proxy.kill('SIGKILL');
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

async function call(content: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
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
  // Words that do not repeat much, so the tokenizer has real work (no cache hits to speak of).
  const random = seededRandom(7);
  const words: string[] = [];
  for (let n = 0; n < 20_000_000; ) {
    const word = Math.floor(random() * 1e9).toString(36);
    words.push(word);
    n += word.length + 1;
  }
  const prompt = words.join(' ');
  await smallCalls(); // warm up: connections, the encoder
  const before = await smallCalls();
  const big = call(prompt);
  // The large call's request is read, sent and answered first; the small calls run while it is counted.
  await new Promise((r) => setTimeout(r, 300));
  const beside = await smallCalls();
  await big;
  proxy.kill('SIGINT');
  await new Promise((resolve) => proxy.on('exit', resolve));
  const added = p99(beside) - p99(before);
  expect(added, `p99 ${p99(before).toFixed(1)} ms alone, ${p99(beside).toFixed(1)} ms beside the large call ${/LOOP.*/.exec(stderr)?.[0] ?? ''}`).toBeLessThan(50);

  // And the large call is still counted in full, as an estimate.
  const summary = JSON.parse(stderr.slice(stderr.indexOf('{')).replace(/^LOOP.*\n/m, '')) as { calls: { usage_source: string; usage: { input_tokens: number; output_tokens: number } }[] };
  const large = summary.calls.find((c) => c.usage_source === 'estimated');
  expect(large?.usage.input_tokens).toBeGreaterThan(3_000_000);
  expect(large?.usage.output_tokens).toBeGreaterThan(100_000);
}, 120_000);

// Google's Gemini API end to end: `run` and `stream` through @google/genai, and a program using
// @google/genai run under `exec` (and `proxy`), all against the fake's Gemini half
// (test/support/fake-gemini.mjs): counted exactly, the bytes the program gets exactly what the
// fake sent, and the key (in x-goog-api-key or ?key=) nowhere in any output, error, ledger or report.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, summaryRow as row, type CliResult } from '../support/cli.js';
import { DEFAULT_TEXT, startFakeProvider, type FakeProvider, type FakeReply } from '../support/fake-provider.mjs';
import { startTap } from '../support/tap.js';

// A distinctive key, shaped like Google's: no output, error, ledger line or report may show it.
const KEY = 'AIzaSyDSECRETgeminiKEY0123456789abcdefg';
const GENAI_CLIENT = fileURLToPath(new URL('../support/clients/genai-client.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-gemini-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ geminiKeys: { apiKey: KEY } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

/** A Gemini user's environment; OPENAI_BASE_URL points at a closed port: nothing may go there. */
function geminiEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-unused', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ...extra };
}

function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: geminiEnv(extra), timeoutMs: 30_000 });
}

function expectNoKey(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('SECRET');
  }
}

describe('llm-usage run and stream with Gemini', () => {
  it('run -m gemini-2.5-flash: generateContent with the key in x-goog-api-key; cached and thoughts reported and priced', async () => {
    const ledger = tmp('ledger.jsonl');
    fake.queue({ usage: { input: 2000, cached: 1500, output: 600, reasoning: 500 } });
    const r = await cli(['run', '-m', 'gemini-2.5-flash', '--system', 'Be brief.', '--max-tokens', '700', '--ledger', ledger, 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '2,600', source: 'reported' });
    expect(row(r.stderr, 'Cached (read)')).toEqual({ value: '1,500', source: 'reported, included above' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '600', source: 'reported' });
    expect(row(r.stderr, 'Reasoning')).toEqual({ value: '500', source: 'reported, included above' });
    // google/gemini-2.5-flash: 500 x $0.30 + 1,500 cached x $0.03 + 600 x $2.50, per 1M.
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.001695', source: 'pricing.json: google/gemini-2.5-flash' });
    const [req] = fake.requests;
    expect(req?.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(req?.headers['x-goog-api-key']).toBe(KEY);
    expect(req?.body).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'Tell me a joke' }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 700 } });
    const line = JSON.parse(readFileSync(ledger, 'utf8'));
    expect(line).toMatchObject({ command: 'run', provider: 'google', api: 'gemini', model: 'gemini-2.5-flash', priced_as: 'google/gemini-2.5-flash', cost_usd: 0.001695 });
    expectNoKey(r.stdout, r.stderr, readFileSync(ledger, 'utf8'));
  });

  it('--provider gemini, google/MODEL, GOOGLE_API_KEY; -n 2 candidates; the tool-use prompt counted as input', async () => {
    fake.queue({ text: ['one', 'two'], usage: { input: 120, toolUse: 20, output: 30 } });
    const r = await cli(['run', '--provider', 'gemini', '-m', 'google/gemini-2.5-pro', '-n', '2', '--json', 'hi'], { GEMINI_API_KEY: undefined, GOOGLE_API_KEY: KEY });
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ provider: 'google', api: 'gemini', model: 'gemini-2.5-pro', text: 'one\n\ntwo', usage: { input_tokens: 120, output_tokens: 30 }, priced_as: 'google/gemini-2.5-pro' });
    // 120 x $1.25 + 30 x $10, per 1M.
    expect(call.cost_usd).toBe(0.00045);
    expect(fake.requests[0]?.body.generationConfig).toEqual({ candidateCount: 2 });
    expect(fake.requests[0]?.headers['x-goog-api-key']).toBe(KEY);
  });

  it('stream: SSE (alt=sse), usage from the last chunk (every chunk carries running counts), never summed', async () => {
    fake.queue({ usage: { input: 250_000, cached: 50_000, output: 1500, reasoning: 500 } });
    const r = await cli(['stream', '-m', 'gemini-2.5-pro', '--json', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.url).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
    const j = JSON.parse(r.stdout);
    expect(j.calls[0]).toMatchObject({ stream: true, text: DEFAULT_TEXT, usage_source: 'reported', usage: { input_tokens: 250_000, output_tokens: 1500, input_token_details: { cache_read: 50_000 }, output_token_details: { reasoning: 500 } } });
    // Above 200k input tokens the whole request is at gemini-2.5-pro's higher tier:
    // 200,000 x $2.50 + 50,000 cached x $0.25 + 1,500 x $15, per 1M.
    expect(j.total_cost_usd).toBe(0.535);
  });

  it('--api chat: Gemini\'s OpenAI-compatible endpoint through the OpenAI SDK, priced under google', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const r = await cli(['stream', '-m', 'gemini-2.5-flash', '--api', 'chat', '--usage', '--json', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.url).toBe('/v1beta/openai/chat/completions');
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.parse(r.stdout).calls[0]).toMatchObject({ provider: 'google', api: 'chat', usage_source: 'reported', priced_as: 'google/gemini-2.5-flash', cost_usd: 0.0000433 });
  });

  it('a stream cut off, or ended by an error chunk: exit 1, the text kept, usage as last reported or estimated', async () => {
    fake.queue({ cutAfter: 3 });
    const cut = await cli(['stream', '-m', 'gemini-2.5-flash']);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toBe("Why don't scientists\n");
    expect(row(cut.stderr, 'Failed Requests')?.value).toBe('1');
    // Each chunk carried running counts: the last received is what Gemini reported so far.
    expect(row(cut.stderr, 'Prompt Tokens')).toEqual({ value: '11', source: 'reported' });

    fake.queue({ errorEvent: 2, errorMessage: `quota for key ${KEY} exceeded` });
    const error = await cli(['stream', '-m', 'gemini-2.5-flash', '--json']);
    expect(error.code).toBe(1);
    const call = JSON.parse(error.stdout).calls[0];
    expect(call).toMatchObject({ ok: false, error_kind: 'stream-error', text: "Why don't", usage_source: 'reported' });
    expect(call.error).toBe('google gemini-2.5-flash: stream-error: quota for key *** exceeded (the provider ended the stream with an error)');
    expectNoKey(cut.stdout, cut.stderr, error.stdout, error.stderr);
  });

  it('a failed call: Google\'s message and status, what to check, exit 1; a key the error echoes is never shown', async () => {
    const wrong = await cli(['run', '-m', 'gemini-2.5-flash', 'hi'], { GEMINI_API_KEY: 'AIzaSyDwrongKEYwrongKEYwrongKEYwrong0000' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('llm-usage: google gemini-2.5-flash: 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key.\n');
    expect(wrong.stderr).not.toContain('wrongKEY');

    fake.queue({ status: 404, errorMessage: `models/gemini-9 is not found (key ${KEY})` });
    const missing = await cli(['run', '-m', 'gemini-9', '--verbose', '--json', 'hi']);
    expect(missing.code).toBe(1);
    const call = JSON.parse(missing.stdout).calls[0];
    expect(call.error).toBe('google gemini-9: 404 NOT_FOUND: models/gemini-9 is not found (key ***) (check the model name and --base-url or GOOGLE_GEMINI_BASE_URL)');
    expect(missing.stderr).toContain('llm-usage: attempt 1: POST /v1beta/models/gemini-9:generateContent -> 404');
    expectNoKey(missing.stdout, missing.stderr);
  });

  it('bad input: one line on stderr, exit 2, nothing on stdout and nothing sent', async () => {
    for (const [args, env, message] of [
      [['run', '-m', 'gemini-2.5-flash', 'hi'], { GEMINI_API_KEY: undefined }, 'llm-usage: no API key: set the GEMINI_API_KEY environment variable (or GOOGLE_API_KEY)\n'],
      [['stream', '--provider', 'google', '-m', 'gemma-3-27b-it'], { GEMINI_API_KEY: '' }, 'llm-usage: no API key: set the GEMINI_API_KEY environment variable (or GOOGLE_API_KEY)\n'],
      [['run', '-m', 'gemini-2.5-flash', 'hi'], { GOOGLE_GEMINI_BASE_URL: 'generativelanguage' }, 'llm-usage: GOOGLE_GEMINI_BASE_URL "generativelanguage" is not a URL: give one such as https://generativelanguage.googleapis.com\n'],
      [['run', '-m', 'gemini-2.5-flash', '--api', 'responses', 'hi'], {}, 'llm-usage: --api on Google is gemini (generateContent) or chat (its OpenAI-compatible endpoint), not "responses"\n'],
      [['run', '--provider', 'openai', '-m', 'google/gemini-2.5-flash', 'hi'], {}, "llm-usage: --model google/gemini-2.5-flash names Google's Gemini API: drop --provider openai, or the google/ prefix\n"],
    ] as const) {
      const r = await cli([...args], env);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 2, stdout: '', stderr: message });
    }
    expect(fake.requests).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// exec: a program using @google/genai

interface Received {
  got: [string, any][];
  bodies: { path: string; status: number; body: string }[];
}
const received = (file: string): Received => JSON.parse(readFileSync(file, 'utf8'));
const bytesOf = (r: Received, i: number) => Buffer.from(r.bodies[i]?.body ?? '', 'base64');
const withoutRandomness = (text: string) =>
  text
    .replace(/"responseId":\s*"[A-Za-z0-9]+"/g, '"responseId":"ID"')
    .replace(/chatcmpl-[A-Za-z0-9]+|fp_[0-9a-f]+/g, 'ID')
    .replace(/"created":\d+/g, '"created":0');

/** Runs the client straight against the fake, without llm-usage. */
async function direct(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|AZURE|GEMINI|GOOGLE|LLM_USAGE)_/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [GENAI_CLIENT, ...args], { env: { ...env, GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: fake.url }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

// One reply per call of genai-client.mjs: generate, stream (SSE), array-stream (?key=), compat.
const CLIENT_REPLIES: FakeReply[] = [
  { usage: { input: 20, cached: 5, output: 30, reasoning: 7 } },
  { usage: { input: 21, output: 40, reasoning: 9, toolUse: 3 } },
  { usage: { input: 22, output: 17 } },
  { usage: { input: 5, output: 6 } },
];
const CALLS = ['generate', 'stream', 'array-stream', 'compat'];

describe('llm-usage exec: a program using @google/genai', () => {
  it('meters every call exactly; the program gets byte for byte what Gemini sent; the key is nowhere', async () => {
    const tap = await startTap(fake.url);
    const out = tmp('proxied.json');
    const report = tmp('report.json');
    const ledger = tmp('ledger.jsonl');
    fake.queue(...CLIENT_REPLIES);
    const r = await cli(['exec', '--report', report, '--ledger', ledger, '--google-upstream', tap.url, '--', process.execPath, GENAI_CLIENT, out, ...CALLS], { GOOGLE_GEMINI_BASE_URL: undefined });
    await tap.close();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('genai-client: 4 calls\n');

    const j = JSON.parse(readFileSync(report, 'utf8'));
    expect(j.calls.map((c: any) => [c.provider, c.api, c.stream, c.model, c.usage_source, c.ok, c.priced_as])).toEqual([
      ['google', 'gemini', false, 'gemini-2.5-flash', 'reported', true, 'google/gemini-2.5-flash'],
      ['google', 'gemini', true, 'gemini-2.5-pro', 'reported', true, 'google/gemini-2.5-pro'],
      ['google', 'gemini', true, 'gemini-2.5-flash', 'reported', true, 'google/gemini-2.5-flash'],
      ['google', 'chat', false, 'gemini-2.5-flash', 'reported', true, 'google/gemini-2.5-flash'],
    ]);
    expect(j.calls.map((c: any) => [c.usage.input_tokens, c.usage.input_token_details.cache_read, c.usage.output_tokens, c.usage.output_token_details.reasoning])).toEqual([
      [20, 5, 30, 7],
      [21, 0, 40, 9],
      [22, 0, 17, 0],
      [5, 0, 6, 0],
    ]);
    // By hand: flash 15 x $0.30 + 5 x $0.03 + 30 x $2.50; pro 21 x $1.25 + 40 x $10; flash 22 x $0.30 + 17 x $2.50; 5 x $0.30 + 6 x $2.50 (per 1M).
    expect(j.calls.map((c: any) => c.cost_usd)).toEqual([0.00007965, 0.00042625, 0.0000491, 0.0000165]);
    expect(j).toMatchObject({ prompt_tokens: 68, completion_tokens: 93, cached_tokens: 5, reasoning_tokens: 16, successful_requests: 4, failed_requests: 0, unmetered_requests: 0, refused_requests: 0 });

    // The paths, the query (alt=sse, the key) and the headers reached Gemini as the program sent them.
    expect(fake.requests.map((q) => q.url)).toEqual([
      '/v1beta/models/gemini-2.5-flash:generateContent',
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
      `/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=${encodeURIComponent(KEY)}`,
      '/v1beta/openai/chat/completions',
    ]);
    expect(fake.requests.map((q) => q.headers['x-goog-api-key'] ?? q.headers.authorization ?? null)).toEqual([KEY, KEY, null, `Bearer ${KEY}`]);

    // Byte for byte what the fake sent, to the program...
    const got = received(out);
    expect(got.bodies.map((b) => b.status)).toEqual([200, 200, 200, 200]);
    for (let i = 0; i < 4; i++) expect(bytesOf(got, i).equals(tap.bodies[i] as Buffer), CALLS[i]).toBe(true);
    expect(bytesOf(got, 1).toString()).toMatch(/^data: \{"candidates"/);
    expect(bytesOf(got, 2).toString()).toMatch(/^\[\{\n {2}"candidates"/);

    // ...which is what it gets without llm-usage (the fake's response ids aside).
    fake.reset();
    fake.queue(...CLIENT_REPLIES);
    const plain = tmp('direct.json');
    const d = await direct([plain, ...CALLS]);
    expect(d.code, d.stderr).toBe(0);
    const without = received(plain);
    for (let i = 0; i < 4; i++) {
      expect(withoutRandomness(bytesOf(got, i).toString()), CALLS[i]).toBe(withoutRandomness(bytesOf(without, i).toString()));
    }

    const lines = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.command, l.provider, l.api, l.model])).toEqual([
      ['exec', 'google', 'gemini', 'gemini-2.5-flash'],
      ['exec', 'google', 'gemini', 'gemini-2.5-pro'],
      ['exec', 'google', 'gemini', 'gemini-2.5-flash'],
      ['exec', 'google', 'chat', 'gemini-2.5-flash'],
    ]);
    expectNoKey(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'));
  });

  it('a failing call with the key in ?key= that Gemini echoes: recorded as failed, the key shown as *** in every line and file', async () => {
    const report = tmp('report.json');
    const ledger = tmp('ledger.jsonl');
    fake.queue({ status: 429, errorMessage: `Quota exceeded for key ${KEY}` });
    const r = await cli(['exec', '--report', report, '--ledger', ledger, '--', process.execPath, GENAI_CLIENT, tmp('fail.json'), 'array-stream']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(readFileSync(report, 'utf8'));
    expect(j.calls[0]).toMatchObject({ provider: 'google', ok: false, status: 429, usage_source: 'none' });
    expect(j.calls[0].error).toBe('google gemini-2.5-flash: 429 RESOURCE_EXHAUSTED: Quota exceeded for key *** (rate limited or out of quota; wait, or check your plan)');
    expect(r.stderr).toContain('llm-usage: google gemini-2.5-flash: 429 RESOURCE_EXHAUSTED: Quota exceeded for key ***');
    expectNoKey(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'));
  });

  it('a JSON-array stream cut off: the chunks that arrived whole keep their reported usage; the call is failed', async () => {
    const report = tmp('report.json');
    fake.queue({ usage: { input: 40, output: 16 }, cutAfter: 3 });
    const r = await cli(['exec', '--report', report, '--', process.execPath, GENAI_CLIENT, tmp('cut.json'), 'array-stream']);
    expect(r.code).toBe(1);
    const call = JSON.parse(readFileSync(report, 'utf8')).calls[0];
    expect(call).toMatchObject({ provider: 'google', api: 'gemini', stream: true, ok: false, error_kind: 'stream-cut', usage_source: 'reported' });
    // Three of the default reply's word pieces arrived: the third chunk's running counts.
    expect(call.usage.input_tokens).toBe(40);
    expect(call.usage.output_tokens).toBeGreaterThan(0);
    expect(call.usage.output_tokens).toBeLessThan(16);
    expectNoKey(r.stdout, r.stderr, readFileSync(report, 'utf8'));
  });

  it('--max-cost refuses in Google\'s format; --providers google sets only GOOGLE_GEMINI_BASE_URL', async () => {
    const names = ['OPENAI_BASE_URL', 'OPENAI_API_BASE', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_API_URL', 'AZURE_OPENAI_ENDPOINT', 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'ANTHROPIC_BEDROCK_BASE_URL', 'GOOGLE_GEMINI_BASE_URL'];
    const program = `process.stdout.write(JSON.stringify(${JSON.stringify(names)}.filter((k) => process.env[k] !== undefined)))`;
    const vars = await cli(['exec', '--providers', 'google', '--', process.execPath, '-e', program], { GOOGLE_GEMINI_BASE_URL: undefined, OPENAI_BASE_URL: undefined });
    expect(vars.code, vars.stderr).toBe(0);
    expect(JSON.parse(vars.stdout)).toEqual(['GOOGLE_GEMINI_BASE_URL']);

    const refused = await cli(['exec', '--max-cost', '0.000001', '--json', '--', process.execPath, GENAI_CLIENT, tmp('refused.json'), 'generate']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"status":"RESOURCE_EXHAUSTED"');
    expect(fake.requests).toHaveLength(0);
    expectNoKey(refused.stdout, refused.stderr);
  });
});

describe('llm-usage exec: an unreachable Gemini upstream', () => {
  it('the program gets a 502 in Google\'s format; the summary names the upstream and the setting, never the key', async () => {
    const r = await cli(['exec', '--json', '--google-upstream', 'http://127.0.0.1:9', '--', process.execPath, GENAI_CLIENT, tmp('down.json'), 'array-stream']);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(Buffer.from(received(join(dir, `${files}-down.json`)).bodies[0]?.body ?? '', 'base64').toString());
    expect(body.error).toMatchObject({ code: 502, status: 'UNAVAILABLE' });
    expect(body.error.message).toMatch(/^llm-usage proxy: cannot reach http:\/\/127\.0\.0\.1:9 /);
    expect(r.stderr).toContain('(check --google-upstream or GOOGLE_GEMINI_BASE_URL)');
    expectNoKey(r.stdout, r.stderr);
  });
});

describe('llm-usage proxy with Gemini', () => {
  it('prints GOOGLE_GEMINI_BASE_URL and where Gemini calls go; meters a call made to it', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/llm-usage.js', import.meta.url)), 'proxy', '--port', '0', '--no-ledger'], {
      env: { ...process.env, NO_COLOR: '1', GOOGLE_GEMINI_BASE_URL: fake.url, GEMINI_API_KEY: undefined, GOOGLE_API_KEY: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const until = async (test: () => boolean) => {
      for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => /GOOGLE_GEMINI_BASE_URL=/.test(stdout) && /Ctrl-C/.test(stderr));
    const base = /GOOGLE_GEMINI_BASE_URL=(\S+)/.exec(stdout)?.[1] as string;
    expect(stderr).toContain(`llm-usage proxy: Gemini API calls go to ${fake.url}\n`);
    fake.queue({ usage: { input: 11, output: 16 } });
    const res = await fetch(`${base}/v1beta/models/gemini-2.5-flash:generateContent?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await until(() => /#1/.test(stderr));
    expect(stderr).toContain('llm-usage: #1 google gemini-2.5-flash gemini: 11 + 16 = 27 tokens, $0.0000433 (total $0.0000433)\n');
    child.kill('SIGINT');
    await new Promise((r) => child.on('close', r));
    expectNoKey(stdout, stderr);
  });
});

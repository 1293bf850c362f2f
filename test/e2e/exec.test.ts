import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../support/cli.js';
import { startFakeProvider, type FakeProvider, type FakeReply } from '../support/fake-provider.mjs';
import { startTap } from '../support/tap.js';

// Distinctive keys: no output, error or file may ever show them.
const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';

const client = (name: string) => fileURLToPath(new URL(`../support/clients/${name}`, import.meta.url));
const PLAIN = client('plain-http.mjs');
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-exec-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY, OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, ...extra };
}

function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: env(extra), timeoutMs: 30_000 });
}

/** Runs a client program straight against the fake, without llm-usage (async: the fake lives in this process). */
async function direct(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { env: { ...process.env, ...env() } as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
}

function expectNoKeys(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toContain(ANTHROPIC_KEY);
    expect(text).not.toContain('SECRET');
  }
}

interface Received {
  name: string;
  status: number;
  body: string;
}
const received = (file: string): Received[] => JSON.parse(readFileSync(file, 'utf8'));
const bytes = (r: Received | undefined) => Buffer.from(r?.body ?? '', 'base64');

/** The fake's random ids and timestamps, so two runs' bytes can be compared; nothing else changes. */
function withoutRandomness(text: string): string {
  return text
    .replace(/chatcmpl-[A-Za-z0-9]+|\bcmpl-[A-Za-z0-9]+|msg_[A-Za-z0-9]+|resp_[0-9a-f]+|req_[A-Za-z0-9]+|fp_[0-9a-f]+/g, 'ID')
    .replace(/"created(_at)?":\d+/g, '"created$1":0');
}

/** The figure in a summary row, e.g. row(r.stderr, 'Prompt Tokens') -> "11". */
function row(summary: string, label: string): string | undefined {
  const line = summary.split('\n').find((l) => new RegExp(`^│\\s+${label}\\s+│`).test(l));
  return line?.split('│')[2]?.trim();
}


// One reply per call of plain-http.mjs's default plan: chat, chat-stream, messages-stream, completion.
const PLAIN_REPLIES: FakeReply[] = [
  { usage: { input: 11, output: 16 } },
  { usage: { input: 20, output: 7 } },
  { usage: { input: 30, cached: 10, output: 5 } },
  { usage: { input: 4, output: 9 } },
];

describe('llm-usage exec: a plain-HTTP program', () => {
  it('meters every call exactly, and the program gets byte for byte what the fake sent', async () => {
    const tap = await startTap(fake.url);
    const out = tmp('proxied.json');
    const report = tmp('report.json');
    fake.queue(...PLAIN_REPLIES);
    const r = await cli(['exec', '--report', report, '--openai-upstream', `${tap.url}/v1`, '--anthropic-upstream', tap.url, '--', process.execPath, PLAIN, out]);
    await tap.close();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('plain-http: 4 calls\n');

    // The summary is the sum of what the fake reported.
    expect(row(r.stderr, 'Tokens Used')).toBe('102');
    expect(row(r.stderr, 'Prompt Tokens')).toBe('65');
    expect(row(r.stderr, 'Completion Tokens')).toBe('37');
    expect(row(r.stderr, 'Cached \\(read\\)')).toBe('10');
    expect(row(r.stderr, 'Successful Requests')).toBe('4');
    const j = JSON.parse(readFileSync(report, 'utf8'));
    expect(j).toMatchObject({ prompt_tokens: 65, completion_tokens: 37, total_tokens: 102, cached_tokens: 10, successful_requests: 4, failed_requests: 0, cost_complete: true, unmetered_requests: 0 });
    expect(j.calls.map((c: { api: string; stream: boolean; usage_source: string }) => [c.api, c.stream, c.usage_source])).toEqual([
      ['chat', false, 'reported'],
      ['chat', true, 'reported'],
      ['messages', true, 'reported'],
      ['completions', false, 'reported'],
    ]);
    expect(j.calls[0].cost_usd).toBeCloseTo(0.0000295, 15);
    expect(j.total_cost_usd).toBeCloseTo(j.calls.reduce((s: number, c: { cost_usd: number }) => s + c.cost_usd, 0), 15);
    // The proxy keeps no text of either side.
    expect(j.calls.every((c: { text: string }) => c.text === '')).toBe(true);

    // Byte for byte: what the program received is what the fake sent...
    const got = received(out);
    expect(got.map((g) => g.status)).toEqual([200, 200, 200, 200]);
    for (const i of [0, 2, 3]) expect(bytes(got[i]).equals(tap.bodies[i] as Buffer), got[i]?.name).toBe(true);
    // ...except for the usage the proxy asked for on the program's behalf, which it took back out:
    expect(fake.requests[1]?.body.stream_options).toEqual({ include_usage: true });
    expect(tap.bodies[1]?.toString()).toContain('"usage":{"prompt_tokens":20');
    expect(bytes(got[1]).toString()).not.toContain('usage');

    // ...so the program sees exactly what it sees without the proxy (the fake's ids and times aside).
    fake.reset();
    fake.queue(...PLAIN_REPLIES);
    const plain = tmp('direct.json');
    await direct(process.execPath, [PLAIN, plain]);
    const without = received(plain);
    for (const [i, g] of got.entries()) {
      expect(withoutRandomness(bytes(g).toString()), g.name).toBe(withoutRandomness(bytes(without[i]).toString()));
    }
    expectNoKeys(r.stdout, r.stderr, readFileSync(report, 'utf8'));
  });

  it('meters the other APIs too, and counts other paths as unmetered', async () => {
    const out = tmp('more.json');
    fake.queue({ usage: { input: 3, output: 5 } }, { usage: { input: 6, output: 2 } }, { usage: { input: 8 } }, { usage: { input: 7, output: 1 } });
    const r = await cli(['exec', '--json', '--', process.execPath, PLAIN, out, 'completion-stream', 'responses-stream', 'embeddings', 'models', 'messages']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stderr);
    expect(j.calls.map((c: { api: string }) => c.api)).toEqual(['completions', 'responses', 'embeddings', 'messages']);
    expect(j.calls[2]).toMatchObject({ model: 'text-embedding-3-small', usage: { input_tokens: 8, output_tokens: 0 } });
    expect(j).toMatchObject({ prompt_tokens: 24, completion_tokens: 8, successful_requests: 4, unmetered_requests: 1 });
    expect(received(out).map((g) => g.status)).toEqual([200, 200, 200, 404, 200]);
  });

  it('estimates with tiktoken, and says so, when upstream sends no usage even when asked', async () => {
    fake.queue({ usage: null, text: 'Hello there friend' });
    const r = await cli(['exec', '--json', '--', process.execPath, PLAIN, tmp('est.json'), 'chat-stream']);
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stderr).calls[0];
    expect(call).toMatchObject({ usage_source: 'estimated', estimate: { encoding: 'o200k_base', parts: ['input', 'output'] } });
    // "Hello there friend" is 3 o200k tokens; the request's two messages are 3 + 3×2 + their text.
    expect(call.usage.output_tokens).toBe(3);
    expect(call.usage.input_tokens).toBeGreaterThan(9);
  });
});

describe('llm-usage exec: programs using the official SDKs, and Python', () => {
  it('the SDKs get the same results and chunks as without the proxy, and every call is metered', async () => {
    const replies: FakeReply[] = [
      { usage: { input: 11, output: 16 } },
      { usage: { input: 12, output: 17 } },
      { usage: { input: 13, output: 18 } },
      { usage: { input: 14, output: 19, cached: 4 } },
      { usage: { input: 15 } },
      { usage: { input: 16, output: 20 } },
      { usage: { input: 17, output: 21, cacheWrite: 5 } },
    ];
    fake.queue(...replies);
    const out = tmp('sdk-proxied.json');
    const r = await cli(['exec', '--json', '--', process.execPath, client('sdk-client.mjs'), out]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stderr);
    expect(j.calls.map((c: { api: string; usage_source: string }) => `${c.api}:${c.usage_source}`)).toEqual([
      'chat:reported',
      'chat:reported',
      'completions:reported',
      'responses:reported',
      'embeddings:reported',
      'messages:reported',
      'messages:reported',
    ]);
    expect(j.prompt_tokens).toBe(11 + 12 + 13 + 14 + 15 + 16 + 17);
    expect(j.completion_tokens).toBe(16 + 17 + 18 + 19 + 0 + 20 + 21);
    expect(j.cached_tokens).toBe(4);
    expect(j.cache_creation_tokens).toBe(5);
    // Anthropic SDK 1.12 sends the key as a bearer token: it reached the fake untouched.
    expect(fake.requests.at(-1)?.headers.authorization ?? fake.requests.at(-1)?.headers['x-api-key']).toMatch(/SECRETanthropic/);

    fake.reset();
    fake.queue(...replies);
    const plain = tmp('sdk-direct.json');
    await direct(process.execPath, [client('sdk-client.mjs'), plain]);
    const proxied = JSON.parse(readFileSync(out, 'utf8'));
    const without = JSON.parse(readFileSync(plain, 'utf8'));
    expect(withoutRandomness(JSON.stringify(proxied))).toBe(withoutRandomness(JSON.stringify(without)));
    // The chat stream's chunks carry no usage field at all, as without the proxy.
    expect(proxied[1][1].some((chunk: object) => 'usage' in chunk)).toBe(false);
    expectNoKeys(r.stdout, r.stderr);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  it.skipIf(!python)('a Python program using only urllib: metered, and the same bytes as without the proxy', async () => {
    const replies: FakeReply[] = [{ usage: { input: 11, output: 16 } }, { usage: { input: 21, output: 6 } }, { usage: { input: 31, output: 4 } }];
    fake.queue(...replies);
    const out = tmp('py-proxied.json');
    const r = await cli(['exec', '--', 'python3', client('urllib_client.py'), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('urllib_client: 3 calls\n');
    expect(row(r.stderr, 'Prompt Tokens')).toBe('63');
    expect(row(r.stderr, 'Completion Tokens')).toBe('26');
    expect(row(r.stderr, 'Successful Requests')).toBe('3');

    fake.reset();
    fake.queue(...replies);
    const plain = tmp('py-direct.json');
    await direct('python3', [client('urllib_client.py'), plain]);
    const without = received(plain);
    for (const [i, g] of received(out).entries()) {
      expect(withoutRandomness(bytes(g).toString()), g.name).toBe(withoutRandomness(bytes(without[i]).toString()));
    }
    expectNoKeys(r.stdout, r.stderr);
  });
});

describe('llm-usage exec: exit codes, budget and failures', () => {
  it('exits with the program\'s exit code, and 128 + n when a signal ended it', async () => {
    const r = await cli(['exec', '--', process.execPath, PLAIN, tmp('x.json'), 'chat'], { CLIENT_EXIT: '3' });
    expect(r.code).toBe(3);
    expect(row(r.stderr, 'Successful Requests')).toBe('1');
    expect(r.stderr).not.toMatch(/llm-usage: .*exit/);
    const killed = await cli(['exec', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(killed.code).toBe(143);
  });

  it('--max-cost: refuses a call whose worst case would pass it, in the provider\'s format, without calling upstream', async () => {
    // The chat call sets no max_tokens: its worst case is gpt-3.5-turbo-0125's whole context
    // window, about $0.0245. The fake bills it as gpt-4o, 1000 + 1000 tokens = $0.0125; then a
    // second such call would pass $0.03, while the Claude call (max_tokens 100) still fits.
    fake.setDefault({ usage: { input: 1000, output: 1000 }, model: 'gpt-4o' });
    const out = tmp('budget.json');
    const r = await cli(['exec', '--max-cost', '0.03', '--', process.execPath, PLAIN, out, 'chat', 'chat', 'messages']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.map((q) => q.path)).toEqual(['/v1/chat/completions', '/v1/messages']);
    const [first, second, third] = received(out);
    expect([first?.status, second?.status, third?.status]).toEqual([200, 429, 200]);
    const refusal = JSON.parse(bytes(second).toString()) as { error: Record<string, unknown> };
    expect(refusal.error).toMatchObject({ type: 'insufficient_quota', param: null, code: 'llm_usage_budget_exceeded' });
    expect(refusal.error['message']).toMatch(/^llm-usage: budget exceeded: its worst case \$0\.024\d+ on top of \$0\.0125 spent and \$0\.00 in flight would pass --max-cost \$0\.03; this request was not sent to openai$/);
    expect(row(r.stderr, 'Successful Requests')).toBe('2');
    expect(row(r.stderr, 'Failed Requests')).toBe('1');
    expect(r.stderr).toContain('llm-usage: --max-cost $0.03 held at $0.025 spent: 1 call was refused with HTTP 429 and not sent');
  });

  it('--max-cost: a call that cannot be bounded (no price for its model) is refused, not let through', async () => {
    const out = tmp('unbounded.json');
    const r = await cli(['exec', '--max-cost', '1', '--', process.execPath, '-e', `(async () => {
      const res = await fetch(process.env.OPENAI_BASE_URL + '/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such-model-xyz', messages: [{ role: 'user', content: 'hi' }] }) });
      require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ status: res.status, body: await res.json() }));
    })()`]);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests).toHaveLength(0);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { status: number; body: { error: { message: string } } };
    expect(got.status).toBe(429);
    expect(got.body.error.message).toBe('llm-usage: --max-cost $1.00 cannot bound this call (no price for model "no-such-model-xyz"); this request was not sent to openai');
  });

  it('an unreachable upstream: the program gets a 502 in the provider\'s format, and the call counts as failed', async () => {
    const out = tmp('down.json');
    const r = await cli(['exec', '--openai-upstream', 'http://127.0.0.1:1/v1', '--anthropic-upstream', 'http://127.0.0.1:1', '--', process.execPath, PLAIN, out, 'chat', 'messages']);
    expect(r.code, r.stderr).toBe(0);
    const [chat, messages] = received(out);
    expect(chat?.status).toBe(502);
    expect(JSON.parse(bytes(chat).toString())).toMatchObject({ error: { type: 'server_error', code: 'llm_usage_upstream_unreachable', message: 'llm-usage proxy: cannot reach http://127.0.0.1:1/v1 (ECONNREFUSED)' } });
    expect(messages?.status).toBe(502);
    expect(JSON.parse(bytes(messages).toString())).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(row(r.stderr, 'Failed Requests')).toBe('2');
    expect(row(r.stderr, 'Successful Requests')).toBe('0');
    expect(r.stderr).toContain('llm-usage: openai gpt-3.5-turbo-0125: cannot reach http://127.0.0.1:1/v1 (ECONNREFUSED): answered 502 (check --openai-upstream or OPENAI_BASE_URL)');
  });

  it('a provider error the upstream echoes the key into stays redacted everywhere', async () => {
    fake.queue({ status: 401, errorMessage: `Incorrect API key provided: ${OPENAI_KEY}.` });
    const report = tmp('keys.json');
    const r = await cli(['exec', '--report', report, '--', process.execPath, PLAIN, tmp('k.json'), 'chat']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('llm-usage: openai gpt-3.5-turbo-0125: 401 invalid_request_error: Incorrect API key provided: ***.');
    expectNoKeys(r.stdout, r.stderr, readFileSync(report, 'utf8'));
  });

  it('bad input is one line and exit 2; a command that cannot start is one line and 127 or 126, like a shell', async () => {
    const cases: [string[], RegExp][] = [
      [['exec'], /^llm-usage: no command to run: llm-usage exec \[options\] -- CMD \[ARGS\.\.\.\]\n$/],
      [['exec', '--max-cost', 'lots', '--', 'true'], /^llm-usage: option '--max-cost <usd>' argument 'lots' is invalid\. expected dollars, such as 0\.50 \(see llm-usage --help\)\n$/],
      [['exec', '--max-cost', '-1', '--', 'true'], /^llm-usage: .*expected dollars/],
      [['exec', '--openai-upstream', 'ftp://x', '--', 'true'], /^llm-usage: --openai-upstream: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL \(expected e\.g\. https:\/\/api\.openai\.com\/v1\)\n$/],
      [['exec', '--bogus', '--', 'true'], /^llm-usage: exec: unknown option '--bogus'/],
      [['exec', 'node', '-e', '1'], /^llm-usage: exec: put -- before the command, so its options stay its own: llm-usage exec \[options\] -- node -e 1\n$/],
      // Not llm-usage's own --version: the command's.
      [['exec', 'node', '--version'], /^llm-usage: exec: put -- before the command, so its options stay its own: llm-usage exec \[options\] -- node --version\n$/],
      [['exec', '--report', '/no/such/dir/r.json', '--', 'true'], /^llm-usage: --report \/no\/such\/dir\/r\.json: cannot write there \(no such directory\)\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const badEnv = await cli(['exec', '--', 'true'], { OPENAI_BASE_URL: 'not a url' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toBe('llm-usage: OPENAI_BASE_URL: "not a url" is not a URL (expected e.g. https://api.openai.com/v1)\n');
    const badLimit = await cli(['exec', '--', 'true'], { LLM_USAGE_PROXY_MAX_BODY: 'huge' });
    expect([badLimit.code, badLimit.stdout, badLimit.stderr]).toEqual([2, '', 'llm-usage: LLM_USAGE_PROXY_MAX_BODY="huge": expected a size, e.g. 64MiB (the largest request body of a metered call)\n']);
    const badProxy = await cli(['exec', '--', 'true'], { HTTPS_PROXY: 'socks5://u:SECRET@proxy' });
    expect([badProxy.code, badProxy.stdout, badProxy.stderr]).toEqual([2, '', 'llm-usage: HTTPS_PROXY: socks5:// proxies are not supported, only http:// and https:// (or unset it for llm-usage)\n']);

    const missing = await cli(['exec', '--', 'llm-usage-no-such-command-xyz', 'arg']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('llm-usage: cannot run "llm-usage-no-such-command-xyz": command not found\n');
    const script = tmp('not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const denied = await cli(['exec', '--', script]);
    expect(denied.code).toBe(126);
    expect(denied.stderr).toBe(`llm-usage: cannot run "${script}": permission denied\n`);
  });

  it('records every call in the ledger, without prompts or replies; --no-ledger records none', async () => {
    const ledger = tmp('ledger.jsonl');
    fake.queue({ usage: { input: 11, output: 16 } }, { usage: { input: 30, output: 5 } });
    const r = await cli(['exec', '--ledger', ledger, '--', process.execPath, PLAIN, tmp('l.json'), 'chat', 'messages-stream']);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.command, l.provider, l.api, l.usage.total_tokens, l.usage_source])).toEqual([
      ['exec', 'openai', 'chat', 27, 'reported'],
      ['exec', 'anthropic', 'messages', 35, 'reported'],
    ]);
    expect(lines[0].run_id).toBe(lines[1].run_id);
    expect(lines.every((l) => !('text' in l) && !('prompt' in l))).toBe(true);
    expectNoKeys(readFileSync(ledger, 'utf8'));

    const off = tmp('off.jsonl');
    await cli(['exec', '--no-ledger', '--', process.execPath, PLAIN, tmp('o.json'), 'chat'], { LLM_USAGE_LEDGER: off });
    expect(() => readFileSync(off)).toThrow();
  });

  it('counts requests it refused or could not route, and says "no LLM calls" only when nothing arrived', async () => {
    const r = await cli(['exec', '--json', '--', process.execPath, '-e', `(async () => {
      const base = process.env.OPENAI_BASE_URL;
      await fetch(base.replace(/\\/v1$/, '') + '/nope');
      await fetch(base + '/chat%2fcompletions');
      await fetch(base + '/chat/completions', { method: 'POST', headers: { 'api-key': 'azure-key-0123456789', 'content-type': 'application/json' }, body: '{}' });
    })()`]);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests).toHaveLength(0);
    expect(JSON.parse(r.stderr.slice(r.stderr.indexOf('{')))).toMatchObject({ requests: 3, refused_requests: 3, refused_by_reason: { 'no-route': 1, 'bad-path': 1, azure: 1 }, unmetered_requests: 0 });
    const table = await cli(['exec', '--', process.execPath, '-e', `fetch(process.env.OPENAI_BASE_URL.replace(/\\/v1$/, '') + '/nope')`]);
    expect(table.stderr).toContain('llm-usage: 1 request refused by llm-usage and never sent: no route, not an OpenAI or Anthropic API path (404)');
    expect(table.stderr).not.toContain('no LLM calls');
  });

  it('a failed call\'s line names the upstream\'s setting, and says "retried" only when something retried', async () => {
    fake.queue({ status: 500 }, { status: 404 });
    const r = await cli(['exec', '--', process.execPath, PLAIN, tmp('fail.json'), 'chat', 'chat']);
    expect(r.stderr).toMatch(/llm-usage: openai gpt-3\.5-turbo-0125: 500 [^\n]*\(the provider failed; try again later\)\n/);
    expect(r.stderr).toMatch(/llm-usage: openai gpt-3\.5-turbo-0125: 404 [^\n]*\(check the model name and --openai-upstream or OPENAI_BASE_URL\)\n/);
    expect(r.stderr).not.toContain('retried');
    expect(r.stderr).not.toContain('--base-url');
  });

  it('says so when nothing went through the proxy', async () => {
    const r = await cli(['exec', '--', process.execPath, '-e', '0']);
    expect(r.code).toBe(0);
    expect(row(r.stderr, 'Tokens Used')).toBe('0');
    expect(r.stderr).toContain('llm-usage: no LLM calls went through the proxy: does the program read OPENAI_BASE_URL, ANTHROPIC_BASE_URL or AZURE_OPENAI_ENDPOINT?');
  });
});

describe('llm-usage exec: signals', () => {
  /** Starts exec on wait-for-signal.mjs; resolves once the program has made its call and is waiting. */
  function startWaiting(extra: Record<string, string> = {}, args: string[] = []): Promise<{ child: ReturnType<typeof spawn>; done: Promise<CliResult> }> {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env(), NO_COLOR: '1', COLUMNS: '200', LLM_USAGE_LEDGER: '/dev/null', ...extra })) if (v !== undefined) childEnv[k] = v;
    const child = spawn(process.execPath, [BIN, 'exec', ...args, '--', process.execPath, client('wait-for-signal.mjs')], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return new Promise((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('ready\n')) resolve({ child, done });
      });
    });
  }

  it('Ctrl-C goes to the program, once; the summary still prints; its exit code comes back', async () => {
    const { child, done } = await startWaiting();
    child.kill('SIGINT');
    const r = await done;
    expect(r.stdout).toBe('ready\nchild: SIGINT\n');
    expect(r.code).toBe(42);
    expect(row(r.stderr, 'Successful Requests')).toBe('1');
    expect(row(r.stderr, 'Tokens Used')).toBe('27');
  });

  it('SIGTERM goes to the program too', async () => {
    const { child, done } = await startWaiting();
    child.kill('SIGTERM');
    const r = await done;
    expect(r.stdout).toBe('ready\nchild: SIGTERM\n');
    expect(r.code).toBe(43);
    expect(row(r.stderr, 'Successful Requests')).toBe('1');
  });

  it('a call cut by SIGTERM says so, not that the client went away', async () => {
    fake.queue({}, { delayMs: 10_000 });
    const { child, done } = await startWaiting({ HANG: '1' }, ['--json']);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(43);
    const summary = JSON.parse(r.stderr.slice(r.stderr.indexOf('{'))) as { calls: { ok: boolean; error: string | null; error_kind: string | null }[] };
    expect(summary.calls.map((c) => [c.ok, c.error_kind])).toEqual([
      [true, null],
      [false, 'aborted'],
    ]);
    expect(summary.calls[1]?.error).toBe('openai gpt-3.5-turbo-0125: aborted: the program was stopped (llm-usage exec got SIGTERM) before the response ended');
  });
});

describe('llm-usage exec: loading', () => {
  it('other commands never load the proxy', () => {
    const trace = fileURLToPath(new URL('../support/trace-imports.mjs', import.meta.url));
    const file = tmp('trace.txt');
    const r = spawnSync(process.execPath, ['--import', trace, BIN, 'price', '--model', 'gpt-4o'], { env: { ...process.env, NO_COLOR: '1', TRACE_IMPORTS_FILE: file }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const loaded = readFileSync(file, 'utf8').trim().split('\n');
    expect(loaded.some((u) => u.includes('/dist/cli-proxy.js'))).toBe(true);
    expect(loaded.filter((u) => /\/dist\/(proxy|commands\/(exec|proxy))/.test(u))).toEqual([]);
  });
});

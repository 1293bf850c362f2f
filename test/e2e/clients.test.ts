// The clients people use, run under `llm-usage exec` against the fake provider: the Vercel AI
// SDK (ai 6, @ai-sdk/openai 3, @ai-sdk/anthropic 3) and LangChain JS (ChatOpenAI, ChatAnthropic).
// Each must be metered exactly, and must get what it gets without the proxy, value for value.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider, type FakeReply, type FakeUsage, type RecordedRequest } from '../support/fake-provider.mjs';

// Distinctive keys: no output, error or file may ever show them.
const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';
const AZURE_KEY = 'azure-SECRETazureKEY0123456789abcdef';

const client = (name: string) => fileURLToPath(new URL(`../support/clients/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-clients-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

// Two fakes, so the run under exec and the run without it go side by side: `fake` is the
// upstream of exec's proxy, `plainFake` answers the program directly.
let fake: FakeProvider;
let plainFake: FakeProvider;
beforeAll(async () => {
  [fake, plainFake] = await Promise.all([startFakeProvider(), startFakeProvider()]);
});
afterAll(() => Promise.all([fake.close(), plainFake.close()]));
beforeEach(() => {
  fake.reset();
  plainFake.reset();
});

/**
 * The environment of a user whose clients talk to `upstream`. ANTHROPIC_BASE_URL has no /v1, as
 * the Anthropic SDK (and so LangChain) expects, and as exec reads it for its upstream.
 */
function userEnv(upstream: FakeProvider, extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY, OPENAI_BASE_URL: `${upstream.url}/v1`, ANTHROPIC_BASE_URL: upstream.url, ...extra };
}

/**
 * Runs a client program straight against `plainFake`, without llm-usage (async: the fake lives in
 * this process). None of the caller's provider or LangSmith variables get through: LangChain
 * prefers OPENAI_API_BASE and ANTHROPIC_API_URL, which would take the call elsewhere. The
 * pinned clients print nothing on stderr, so anything there (a warning, say) fails the test.
 */
async function direct(args: string[], extra: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|LLM_USAGE|LANGCHAIN|LANGSMITH)_/.test(k)) env[k] = v;
  const child = spawn(process.execPath, args, { env: { ...env, ...userEnv(plainFake, extra) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { stdout, stderr, code };
}

/** The fake's random ids and the clients' clocks, so two runs can be compared; nothing else changes. */
function withoutRandomness(text: string): string {
  return text
    .replace(/chatcmpl-[A-Za-z0-9]+|\bcmpl-[A-Za-z0-9]+|msg_[A-Za-z0-9]+|resp_[0-9a-f]+|req_[A-Za-z0-9]+|fp_[0-9a-f]+/g, 'ID')
    .replace(/"created(_at)?":\d+/g, '"created$1":0')
    // The AI SDK turns `created` into a Date, and stamps an Anthropic response with its own clock.
    .replace(/"timestamp":"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"timestamp":"T"');
}

function expectNoKeys(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toContain(ANTHROPIC_KEY);
    expect(text).not.toContain(AZURE_KEY);
    expect(text).not.toContain('SECRET');
  }
}

/** What a client program says it got from its SDK, for one call: the text and the usage. */
interface Seen {
  text: string;
  input: number;
  output: number;
}

interface Case {
  program: 'ai-sdk-client.mjs' | 'langchain-client.mjs';
  /** The program's calls, one reply each. */
  calls: [name: string, reply: FakeReply & { text: string; usage: { input: number; output: number } }][];
  /** [api, stream] for each call, as exec's report should list them. */
  apis: [string, boolean][];
  /** The text and usage the SDK handed the program for one call (what the program wrote for it). */
  seen(name: string, got: any): Seen;
  /** Variables of the user's own, when exec runs; `upstream` is the fake's URL. */
  env?: (upstream: string) => Record<string, string>;
  /** The same, when the program runs without exec (where a client's convention differs from exec's). */
  directEnv?: (upstream: string) => Record<string, string>;
}

interface Report {
  calls: { api: string; stream: boolean; usage_source: string; ok: boolean; usage: { input_tokens: number; output_tokens: number; input_token_details: { cache_read: number; cache_creation: number }; output_token_details: { reasoning: number } } }[];
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number;
  successful_requests: number;
  failed_requests: number;
  unmetered_requests: number;
}

const requestsSeen = (requests: RecordedRequest[]) => requests.map((r) => ({ method: r.method, path: r.path, body: r.body }));

/**
 * Runs the case's program under exec and, beside it, straight against a fake with the same
 * replies. Checks that without the proxy the SDK reports the fake's text and usage (else the
 * test is wrong), then: (a) exec's report holds exactly the usage the fake was told to report,
 * call by call; (b) the program got the same results, chunks, usage and API headers either way
 * (ids and clocks aside), and the fake received the same requests.
 */
async function expectMeteredAndUnchanged(c: Case): Promise<void> {
  const names = c.calls.map(([name]) => name);
  const replies = c.calls.map(([, reply]) => reply);
  const label = c.program.replace(/\.mjs$/, '');
  const stdout = `${label}: ${names.length} call${names.length === 1 ? '' : 's'}\n`;

  fake.queue(...replies);
  plainFake.queue(...replies);
  const out = tmp('proxied.json');
  const plain = tmp('direct.json');
  const reportFile = tmp('report.json');
  const [r, d] = await Promise.all([
    runCli(['exec', '--report', reportFile, '--', process.execPath, client(c.program), out, ...names], { env: userEnv(fake, c.env?.(fake.url)), timeoutMs: 30_000 }),
    direct([client(c.program), plain, ...names], { ...c.env?.(plainFake.url), ...c.directEnv?.(plainFake.url) }),
  ]);
  // Without the proxy first: if this fails, the test (or the fake) is wrong, not the proxy.
  expect(d.code, d.stderr).toBe(0);
  expect(d.stderr).toBe('');
  expect(d.stdout).toBe(stdout);
  const without: [string, unknown][] = JSON.parse(readFileSync(plain, 'utf8'));
  expect(without.map(([name, got]) => c.seen(name, got))).toEqual(replies.map((reply) => ({ text: reply.text, input: reply.usage.input, output: reply.usage.output })));

  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(stdout);

  // (a) Counted exactly: each call as the fake reported it, and the totals their sums.
  const report: Report = JSON.parse(readFileSync(reportFile, 'utf8'));
  expect(report.calls.map((call) => [call.api, call.stream, call.usage_source, call.ok])).toEqual(c.apis.map(([api, stream]) => [api, stream, 'reported', true]));
  expect(
    report.calls.map((call) => ({
      input: call.usage.input_tokens,
      output: call.usage.output_tokens,
      cached: call.usage.input_token_details.cache_read,
      cacheWrite: call.usage.input_token_details.cache_creation,
      reasoning: call.usage.output_token_details.reasoning,
    })),
  ).toEqual(replies.map((reply) => ({ cached: 0, cacheWrite: 0, reasoning: 0, ...reply.usage })));
  const sum = (key: keyof FakeUsage) => replies.reduce((s, reply) => s + (reply.usage[key] ?? 0), 0);
  expect(report).toMatchObject({
    prompt_tokens: sum('input'),
    completion_tokens: sum('output'),
    cached_tokens: sum('cached'),
    cache_creation_tokens: sum('cacheWrite'),
    reasoning_tokens: sum('reasoning'),
    successful_requests: names.length,
    failed_requests: 0,
    unmetered_requests: 0,
  });

  // (b) The same as without the proxy, value for value.
  expect(requestsSeen(fake.requests)).toEqual(requestsSeen(plainFake.requests));
  const proxied: [string, unknown][] = JSON.parse(readFileSync(out, 'utf8'));
  for (const [i, [name, got]] of proxied.entries()) {
    expect(withoutRandomness(JSON.stringify(got)), name).toBe(withoutRandomness(JSON.stringify(without[i]?.[1])));
  }
  expectNoKeys(r.stdout, r.stderr, readFileSync(reportFile, 'utf8'));
}

// Texts with multi-byte characters, so a chunk boundary mishandled anywhere shows.
const text = (what: string) => `${what}: naïve café ☕ — 🙂 done.`;

describe('llm-usage exec: the Vercel AI SDK (ai 6)', () => {
  // generateText and streamText both hand back `text` and `totalUsage`, the caller's view.
  const seen = (_name: string, got: any): Seen => ({ text: got.text, input: got.totalUsage.inputTokens, output: got.totalUsage.outputTokens });

  it('@ai-sdk/openai: openai.chat() and openai() (the Responses API), generated and streamed', async () => {
    await expectMeteredAndUnchanged({
      program: 'ai-sdk-client.mjs',
      calls: [
        ['openai-chat', { text: text('chat'), usage: { input: 11, output: 16 } }],
        ['openai-chat-stream', { text: text('chat stream'), usage: { input: 12, output: 17, cached: 2 } }],
        ['openai', { text: text('responses'), usage: { input: 13, output: 18, reasoning: 5 } }],
        ['openai-stream', { text: text('responses stream'), usage: { input: 14, output: 19, cached: 4 } }],
      ],
      apis: [['chat', false], ['chat', true], ['responses', false], ['responses', true]],
      seen,
    });
    // The SDK asks for usage in chat streams itself: the proxy had nothing to add, and the program
    // saw the usage chunk (checked equal above), exactly as without the proxy.
    expect(plainFake.requests[1]?.body.stream_options).toEqual({ include_usage: true });
  });

  it('@ai-sdk/anthropic: generated and streamed', async () => {
    await expectMeteredAndUnchanged({
      program: 'ai-sdk-client.mjs',
      calls: [
        ['anthropic', { text: text('messages'), usage: { input: 16, output: 20 } }],
        ['anthropic-stream', { text: text('messages stream'), usage: { input: 17, output: 21, cached: 3, cacheWrite: 5 } }],
      ],
      apis: [['messages', false], ['messages', true]],
      seen,
      // @ai-sdk/anthropic posts to `${ANTHROPIC_BASE_URL}/messages`, so its users put /v1 in the
      // variable. Under exec the variable is exec's own, and the call must reach the fake all the same.
      directEnv: (upstream) => ({ ANTHROPIC_BASE_URL: `${upstream}/v1` }),
    });
    // Forwarded to the upstream's /v1/messages: the Anthropic API has no /messages.
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/messages', '/v1/messages']);
  });
});

describe('llm-usage exec: LangChain JS', () => {
  // invoke: the message's usage_metadata. stream: the chunks' text, and the usage they carry.
  // (Not the concatenated message's: ChatAnthropic adds message_start's provisional output_tokens
  // to message_delta's final count, one too many here, with or without the proxy; that is LangChain's.)
  const seen = (name: string, got: any): Seen => {
    if (!name.endsWith('-stream')) return { text: got.content, input: got.usage_metadata.input_tokens, output: got.usage_metadata.output_tokens };
    const chunks: { content: string; usage_metadata?: { input_tokens: number; output_tokens: number } }[] = got.chunks;
    return {
      text: chunks.map((chunk) => chunk.content).join(''),
      input: Math.max(...chunks.map((chunk) => chunk.usage_metadata?.input_tokens ?? 0)),
      output: Math.max(...chunks.map((chunk) => chunk.usage_metadata?.output_tokens ?? 0)),
    };
  };

  it('ChatOpenAI: invoke and stream', async () => {
    await expectMeteredAndUnchanged({
      program: 'langchain-client.mjs',
      calls: [
        ['openai', { text: text('invoke'), usage: { input: 21, output: 26, cached: 3 } }],
        ['openai-stream', { text: text('stream'), usage: { input: 22, output: 27 } }],
      ],
      apis: [['chat', false], ['chat', true]],
      seen,
    });
    // LangChain asks for usage in its streams itself (streamUsage): nothing for the proxy to add.
    expect(plainFake.requests[1]?.body.stream_options).toEqual({ include_usage: true });
  });

  const anthropicCalls: Case['calls'] = [
    ['anthropic', { text: text('invoke'), usage: { input: 31, output: 36, cacheWrite: 4 } }],
    ['anthropic-stream', { text: text('stream'), usage: { input: 32, output: 37, cached: 6 } }],
  ];

  it('ChatAnthropic: invoke and stream', async () => {
    await expectMeteredAndUnchanged({ program: 'langchain-client.mjs', calls: anthropicCalls, apis: [['messages', false], ['messages', true]], seen });
  });

  it('AzureChatOpenAI (AZURE_OPENAI_ENDPOINT): invoke and stream, metered exactly, its deployment path and api-key untouched', async () => {
    await expectMeteredAndUnchanged({
      program: 'langchain-client.mjs',
      calls: [
        ['azure', { text: text('invoke'), usage: { input: 23, output: 28, cached: 7 } }],
        ['azure-stream', { text: text('stream'), usage: { input: 24, output: 29 } }],
      ],
      apis: [['chat', false], ['chat', true]],
      seen,
      env: (upstream) => ({
        AZURE_OPENAI_ENDPOINT: upstream,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        AZURE_OPENAI_API_VERSION: '2024-10-21',
        AZURE_OPENAI_API_DEPLOYMENT_NAME: 'my-gpt4o',
      }),
    });
    expect(fake.requests.map((r) => [r.url, r.headers['api-key']])).toEqual([
      ['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', AZURE_KEY],
      ['/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', AZURE_KEY],
    ]);
  });

  it('ChatAnthropic for a user who set ANTHROPIC_API_URL, which it reads before ANTHROPIC_BASE_URL', async () => {
    await expectMeteredAndUnchanged({
      program: 'langchain-client.mjs',
      calls: anthropicCalls,
      apis: [['messages', false], ['messages', true]],
      seen,
      env: (upstream) => ({ ANTHROPIC_API_URL: upstream }),
    });
  });
});

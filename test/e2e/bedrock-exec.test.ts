// Bedrock under `llm-usage exec` and `llm-usage proxy`, against the fake Bedrock runtime
// (test/support/fake-bedrock.mjs, which checks every SigV4 signature against the test
// credentials and the Host it listens on). The programs sign for the proxy's address; the proxy
// must check that signature against the credentials it finds itself, sign again for the fake,
// meter every call exactly, and hand the program the fake's bytes unchanged.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../support/cli.js';
import { startFakeBedrock, TEST_CREDENTIALS, type FakeBedrock, type FakeBedrockReply } from '../support/fake-bedrock.mjs';
import { startTap, type Tap } from '../support/tap.js';

const client = (name: string) => fileURLToPath(new URL(`../support/clients/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-usage-bedrock-'));
let files = 0;
const tmp = (name: string) => join(dir, `${++files}-${name}`);

let fake: FakeBedrock;
let tap: Tap;
beforeAll(async () => {
  fake = await startFakeBedrock();
  // A recording HTTP proxy for the metering proxy's upstream traffic (given as HTTP_PROXY): the
  // Host, and so the signature, stay the fake's; each body is kept exactly as the fake sent it.
  tap = await startTap(fake.url, { tunnel: true });
});
afterAll(() => Promise.all([fake.close(), tap.close()]));
beforeEach(() => {
  fake.reset();
  tap.bodies.length = 0;
});

/**
 * The user's AWS setup: the test credentials (a secret key and a session token), a region, and
 * an endpoint (the fake's). The metadata service is never probed.
 */
function awsEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: TEST_CREDENTIALS.sessionToken,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
    ANTHROPIC_BEDROCK_BASE_URL: fake.url,
    // The AWS SDK in the *program* warns about Node 20; that is the program's stderr, not ours.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: awsEnv(extra), timeoutMs: 60_000 });
}

/** Runs a program straight against the fake, without llm-usage (async: the fake lives in this process). */
async function direct(args: string[]): Promise<void> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...awsEnv() })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
}

function expectNoSecrets(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(TEST_CREDENTIALS.secretAccessKey);
    expect(text).not.toContain(TEST_CREDENTIALS.sessionToken);
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('SESSION');
  }
}

interface Received {
  name: string;
  status: number;
  type: string | null;
  body: string;
}
const received = (file: string): Received[] => JSON.parse(readFileSync(file, 'utf8'));
const bytes = (r: Received | undefined) => Buffer.from(r?.body ?? '', 'base64');

interface Call {
  provider: string;
  api: string;
  model: string;
  stream: boolean;
  ok: boolean;
  usage_source: string;
  usage: { input_tokens: number; output_tokens: number; input_token_details: { cache_read: number; cache_creation: number } };
  cost_usd: number | null;
  priced_as: string | null;
  error: string | null;
}

/** The fake's random ids and padding, so two runs can be compared; nothing else changes. */
function withoutRandomness(text: string): string {
  return text
    .replace(/msg_bdrk_[0-9a-f]+/g, 'ID')
    .replace(/"p":"[A-Za-z]*"/g, '"p":""')
    .replace(/"latencyMs":\d+/g, '"latencyMs":0')
    .replace(/"(invocationLatency|firstByteLatency)":\d+/g, '"$1":0');
}

describe('llm-usage exec: Bedrock from a program that signs its own SigV4 over HTTP/1.1', () => {
  it('verifies, re-signs for the upstream, meters every operation exactly, and relays the bytes unchanged', async () => {
    fake.queue(
      { usage: { input: 25, output: 7 } },
      { usage: { input: 31, cached: 10, output: 9 } },
      { usage: { input: 12, output: 5 } },
      { usage: { input: 40, cached: 8, cacheWrite: 2, output: 6 } },
    );
    const out = tmp('sigv4.json');
    const report = tmp('report.json');
    const ledger = tmp('ledger.jsonl');
    const r = await cli(['exec', '--report', report, '--ledger', ledger, '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'invoke', 'invoke-stream', 'converse', 'converse-stream', 'count-tokens'], { HTTP_PROXY: tap.url });
    expect(r.code, r.stderr).toBe(0);

    // The fake got every request signed for its own host (a proxy that forgot to re-sign would be refused).
    expect(fake.requests.map((q) => [q.operation, q.signature, q.headers.host])).toEqual([
      ['invoke', 'valid', fake.host],
      ['invoke-with-response-stream', 'valid', fake.host],
      ['converse', 'valid', fake.host],
      ['converse-stream', 'valid', fake.host],
      [null, 'valid', fake.host],
    ]);
    expect(fake.requests[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/);

    // Byte for byte: the program received what the fake sent, event-stream frames included.
    const got = received(out);
    expect(got.map((g) => [g.name, g.status])).toEqual([
      ['invoke', 200],
      ['invoke-stream', 200],
      ['converse', 200],
      ['converse-stream', 200],
      ['count-tokens', 404],
    ]);
    expect(tap.bodies).toHaveLength(5);
    for (const [i, g] of got.entries()) expect(bytes(g).equals(tap.bodies[i] as Buffer), g.name).toBe(true);

    // Metered exactly as the fake reported, under the aws provider's prices.
    const j = JSON.parse(readFileSync(report, 'utf8'));
    const calls = j.calls as Call[];
    expect(calls.map((c) => [c.provider, c.api, c.stream, c.usage_source, c.usage.input_tokens, c.usage.output_tokens, c.usage.input_token_details.cache_read, c.usage.input_token_details.cache_creation])).toEqual([
      ['bedrock', 'messages', false, 'reported', 25, 7, 0, 0],
      ['bedrock', 'messages', true, 'reported', 31, 9, 10, 0],
      ['bedrock', 'converse', false, 'reported', 12, 5, 0, 0],
      ['bedrock', 'converse', true, 'reported', 40, 6, 8, 2],
    ]);
    expect(calls.map((c) => c.model)).toEqual(['anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'amazon.nova-lite-v1:0', 'amazon.nova-lite-v1:0']);
    expect(calls.every((c) => c.priced_as?.startsWith('aws/') && c.cost_usd !== null)).toBe(true);
    // Claude 3 Haiku on Bedrock: $0.25 in, $1.25 out per 1M tokens.
    expect(calls[0]?.cost_usd).toBeCloseTo((25 * 0.25 + 7 * 1.25) / 1e6, 12);
    expect(j).toMatchObject({ prompt_tokens: 108, completion_tokens: 27, successful_requests: 4, failed_requests: 0, unmetered_requests: 1, refused_requests: 0 });

    const lines = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.command, l.provider, l.api, l.usage.total_tokens])).toEqual([
      ['exec', 'bedrock', 'messages', 32],
      ['exec', 'bedrock', 'messages', 40],
      ['exec', 'bedrock', 'converse', 17],
      ['exec', 'bedrock', 'converse', 46],
    ]);
    expectNoSecrets(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'), readFileSync(out, 'utf8'));
  });

  it('a reply too large to read inline is read on the worker thread, usage from its headers included', async () => {
    // 200 KB replies (past the 64 KiB read inline): the InvokeModel body without its usage, so
    // the usage must come from the x-amzn-bedrock-*-token-count headers, which go with it.
    const text = 'word '.repeat(40_000);
    fake.queue({ text, usage: { input: 21, output: 40_000 }, bodyUsage: false }, { text, usage: { input: 13, output: 40_000 } });
    const out = tmp('large.json');
    const report = tmp('large-report.json');
    const r = await cli(['exec', '--report', report, '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'invoke', 'converse'], { HTTP_PROXY: tap.url });
    expect(r.code, r.stderr).toBe(0);
    const got = received(out);
    expect(got.map((g) => [g.name, g.status, bytes(g).length > 200_000])).toEqual([
      ['invoke', 200, true],
      ['converse', 200, true],
    ]);
    for (const [i, g] of got.entries()) expect(bytes(g).equals(tap.bodies[i] as Buffer), g.name).toBe(true);
    const calls = JSON.parse(readFileSync(report, 'utf8')).calls as Call[];
    expect(calls.map((c) => [c.api, c.ok, c.usage_source, c.usage.input_tokens, c.usage.output_tokens])).toEqual([
      ['messages', true, 'reported', 21, 40_000],
      ['converse', true, 'reported', 13, 40_000],
    ]);
  });

  it('a request signed with the wrong secret gets AWS\'s 403 from the proxy and never reaches Bedrock', async () => {
    const out = tmp('wrong.json');
    const r = await cli(['exec', '--json', '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'invoke', 'converse-stream', '--secret', 'wrongSecretKey/000000000000000000000000000']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests).toHaveLength(0);
    const got = received(out);
    expect(got.map((g) => [g.status, g.type])).toEqual([
      [403, 'InvalidSignatureException'],
      [403, 'InvalidSignatureException'],
    ]);
    expect(JSON.parse(bytes(got[0]).toString())).toEqual({
      message: "llm-usage proxy: the request's AWS signature does not verify (not signed with the secret key of the AWS credentials llm-usage found); not sent",
    });
    const j = JSON.parse(r.stderr);
    expect(j).toMatchObject({ requests: 2, refused_requests: 2, refused_by_reason: { signature: 2 }, successful_requests: 0, calls: [] });
    const table = await cli(['exec', '--', process.execPath, client('sigv4-bedrock.mjs'), tmp('w.json'), 'invoke', '--secret', 'wrong']);
    expect(table.stderr).toContain('llm-usage: 1 request refused by llm-usage and never sent: AWS requests whose signature does not verify against your AWS credentials (403)');
    expectNoSecrets(r.stdout, r.stderr, table.stderr, readFileSync(out, 'utf8'));
  });

  it('--max-cost bounds Bedrock calls by their max_tokens and inferenceConfig.maxTokens, and refuses in Bedrock\'s format', async () => {
    // Claude 3 Haiku, 80,000 in and 64,000 out: $0.02 + $0.08 = $0.10, the whole budget.
    fake.queue({ usage: { input: 80_000, output: 64_000 } });
    const out = tmp('budget.json');
    const r = await cli(['exec', '--json', '--max-cost', '0.10', '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'invoke', 'converse', 'invoke-stream']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.map((q) => q.operation)).toEqual(['invoke']);
    const [first, second, third] = received(out);
    expect(first?.status).toBe(200);
    // Not a 429: the AWS SDKs retry those whatever the proxy says.
    expect([second?.status, second?.type, third?.status, third?.type]).toEqual([400, 'ServiceQuotaExceededException', 400, 'ServiceQuotaExceededException']);
    // The worst cases come from the requests' own bounds (200 tokens), not the context windows
    // (which would be $0.07 for Nova Lite and $0.25 for Claude 3 Haiku).
    expect(JSON.parse(bytes(second).toString()).message).toMatch(/^llm-usage: budget exceeded: its worst case \$0\.0000[45]\d* on top of \$0\.10 spent/);
    expect(JSON.parse(bytes(third).toString()).message).toMatch(/^llm-usage: budget exceeded: its worst case \$0\.0002[56]\d* on top of \$0\.10 spent/);
    const j = JSON.parse(r.stderr);
    expect(j).toMatchObject({ successful_requests: 1, failed_requests: 2, refused_by_reason: { budget: 2 } });
    expect(j.total_cost_usd).toBeCloseTo(0.1, 10);
    fake.queue({ usage: { input: 80_000, output: 64_000 } });
    const table = await cli(['exec', '--max-cost', '0.10', '--', process.execPath, client('sigv4-bedrock.mjs'), tmp('budget2.json'), 'invoke', 'converse']);
    expect(table.stderr).toContain('llm-usage: --max-cost $0.10 held at $0.10 spent: 1 call was refused with HTTP 400 (ServiceQuotaExceededException) and not sent');
  });
});

describe('llm-usage exec: Bedrock failures', () => {
  it('an unreachable Bedrock upstream: a 502 in AWS\'s format, the call failed, the setting named', async () => {
    const out = tmp('down.json');
    const r = await cli(['exec', '--bedrock-upstream', 'http://127.0.0.1:1', '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'converse']);
    expect(r.code, r.stderr).toBe(0);
    const [got] = received(out);
    expect([got?.status, got?.type, JSON.parse(bytes(got).toString())]).toEqual([502, 'ServiceUnavailableException', { message: 'llm-usage proxy: cannot reach http://127.0.0.1:1 (ECONNREFUSED)' }]);
    expect(r.stderr).toContain('llm-usage: bedrock amazon.nova-lite-v1:0: cannot reach http://127.0.0.1:1 (ECONNREFUSED): answered 502 (check --bedrock-upstream or AWS_ENDPOINT_URL_BEDROCK_RUNTIME)');
  });

  it('a Bedrock error and a stream that ends with an exception are failed calls, relayed as they came', async () => {
    fake.queue({ status: 429 }, { streamError: true, usage: { input: 9, output: 3 } });
    const out = tmp('errors.json');
    const r = await cli(['exec', '--json', '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'invoke', 'converse-stream'], { HTTP_PROXY: tap.url });
    expect(r.code, r.stderr).toBe(0);
    const got = received(out);
    expect(got.map((g) => g.status)).toEqual([429, 200]);
    for (const [i, g] of got.entries()) expect(bytes(g).equals(tap.bodies[i] as Buffer), g.name).toBe(true);
    const calls = JSON.parse(r.stderr).calls as Call[];
    expect(calls.map((c) => [c.ok, c.error?.split(':').slice(0, 3).join(':')])).toEqual([
      [false, 'bedrock anthropic.claude-3-haiku-20240307-v1:0: 429 ThrottlingException'],
      [false, 'bedrock amazon.nova-lite-v1:0: stream-error'],
    ]);
  });
});

describe('llm-usage exec: Bedrock through the AWS SDK v3 (HTTP/2) and AnthropicBedrock', () => {
  it('BedrockRuntimeClient, with its default HTTP/2 handler: all four operations metered, the same results as without the proxy', async () => {
    const replies: FakeBedrockReply[] = [
      { usage: { input: 21, output: 8 } },
      { usage: { input: 22, output: 9, cached: 4 } },
      { usage: { input: 23, output: 10 } },
      { usage: { input: 24, output: 11, cacheWrite: 3 } },
    ];
    fake.queue(...replies);
    const out = tmp('aws-sdk.json');
    const r = await cli(['exec', '--json', '--', process.execPath, client('aws-sdk-bedrock.mjs'), out]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stderr);
    expect((j.calls as Call[]).map((c) => [c.api, c.stream, c.usage_source, c.usage.input_tokens, c.usage.output_tokens])).toEqual([
      ['messages', false, 'reported', 21, 8],
      ['messages', true, 'reported', 22, 9],
      ['converse', false, 'reported', 23, 10],
      ['converse', true, 'reported', 24, 11],
    ]);
    expect(j).toMatchObject({ cached_tokens: 4, cache_creation_tokens: 3, successful_requests: 4, failed_requests: 0 });
    // Upstream the proxy talks HTTP/1.1, re-signed for the fake.
    expect(fake.requests.map((q) => [q.httpVersion, q.signature])).toEqual(Array(4).fill(['1.1', 'valid']));

    fake.reset();
    fake.queue(...replies);
    const plain = tmp('aws-sdk-direct.json');
    await direct([client('aws-sdk-bedrock.mjs'), plain]);
    // Without the proxy the same client talks HTTP/2: so under exec the proxy served it HTTP/2.
    expect(fake.requests.map((q) => q.httpVersion)).toEqual(Array(4).fill('2.0'));
    expect(withoutRandomness(readFileSync(out, 'utf8'))).toBe(withoutRandomness(readFileSync(plain, 'utf8')));
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('AnthropicBedrock: a message and a stream metered, the same results as without the proxy', async () => {
    const replies: FakeBedrockReply[] = [{ usage: { input: 13, output: 35 } }, { usage: { input: 14, output: 36, cached: 6 } }];
    fake.queue(...replies);
    const out = tmp('anthropic-bedrock.json');
    const r = await cli(['exec', '--json', '--', process.execPath, client('anthropic-bedrock.mjs'), out]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stderr);
    expect((j.calls as Call[]).map((c) => [c.provider, c.api, c.stream, c.usage.input_tokens, c.usage.output_tokens, c.priced_as])).toEqual([
      ['bedrock', 'messages', false, 13, 35, 'aws/regional.anthropic.claude-3-5-haiku-20241022-v1:0'],
      ['bedrock', 'messages', true, 14, 36, 'aws/regional.anthropic.claude-3-5-haiku-20241022-v1:0'],
    ]);
    expect(fake.requests.every((q) => q.signature === 'valid')).toBe(true);

    fake.reset();
    fake.queue(...replies);
    const plain = tmp('anthropic-bedrock-direct.json');
    await direct([client('anthropic-bedrock.mjs'), plain]);
    expect(withoutRandomness(readFileSync(out, 'utf8'))).toBe(withoutRandomness(readFileSync(plain, 'utf8')));
    expectNoSecrets(r.stdout, r.stderr);
  });
});

describe('llm-usage exec and proxy: the Bedrock variables and what is said', () => {
  it('the program gets AWS_ENDPOINT_URL_BEDROCK_RUNTIME and ANTHROPIC_BEDROCK_BASE_URL pointing at the proxy', async () => {
    const out = tmp('env.json');
    const r = await cli(['exec', '--', process.execPath, '-e', `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME, process.env.ANTHROPIC_BEDROCK_BASE_URL, process.env.OPENAI_BASE_URL]))`]);
    expect(r.code, r.stderr).toBe(0);
    const [aws, anthropic, openai] = JSON.parse(readFileSync(out, 'utf8')) as string[];
    expect(aws).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(anthropic).toBe(aws);
    expect(openai).toBe(`${aws}/v1`);
  });

  it('finds the credentials through the AWS default chain, profile files included, and prints none of its warnings', async () => {
    // Keys in the environment and a profile too: the AWS SDK's chain warns about that on
    // stderr (console.warn) unless given a logger. The program signs with the profile's keys.
    const credentials = tmp('credentials');
    writeFileSync(credentials, `[work]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\naws_session_token = ${TEST_CREDENTIALS.sessionToken}\n`);
    fake.queue({ usage: { input: 5, output: 6 } });
    const out = tmp('profile.json');
    const r = await cli(['exec', '--', process.execPath, client('sigv4-bedrock.mjs'), out, 'converse'], {
      AWS_PROFILE: 'work',
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: tmp('no-config'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(received(out)[0]?.status).toBe(200);
    expect(fake.requests.map((q) => q.signature)).toEqual(['valid']);
    // Only our own summary on stderr: no line of the AWS SDK's.
    expect(r.stderr).not.toMatch(/warn|aws-sdk|credential-provider/i);
    expect(r.stderr).toMatch(/^┌/);
  });

  it('a session token an error echoes is redacted everywhere, even one from a profile file rather than the environment', async () => {
    const credentials = tmp('credentials');
    writeFileSync(credentials, `[work]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\naws_session_token = ${TEST_CREDENTIALS.sessionToken}\n`);
    fake.queue({ status: 400, errorMessage: `The security token ${TEST_CREDENTIALS.sessionToken} may not call this model.` });
    const report = tmp('echo.json');
    const ledger = tmp('echo.jsonl');
    const r = await cli(['exec', '--report', report, '--ledger', ledger, '--', process.execPath, client('sigv4-bedrock.mjs'), tmp('echo-out.json'), 'invoke'], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: 'work',
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: tmp('no-config'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests.map((q) => q.signature)).toEqual(['valid']);
    expect(r.stderr).toContain('llm-usage: bedrock anthropic.claude-3-haiku-20240307-v1:0: 400 ValidationException: The security token *** may not call this model.');
    expectNoSecrets(r.stdout, r.stderr, readFileSync(report, 'utf8'), readFileSync(ledger, 'utf8'));
  });

  it('llm-usage proxy prints the Bedrock variables and where Bedrock calls go', async () => {
    const child = spawn(process.execPath, [BIN, 'proxy', '--port', '0'], {
      env: { ...(process.env as Record<string, string>), NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null', AWS_REGION: 'eu-west-3', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: '', AWS_ENDPOINT_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (/Ctrl-C/.test(stderr) || stdout.split('\n').length > 4) resolve();
      });
    });
    for (let i = 0; i < 100 && !/Ctrl-C/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    await new Promise((resolve) => child.on('close', resolve));
    const origin = /^OPENAI_BASE_URL=(http:\/\/[\d.:]+)\/v1$/m.exec(stdout)?.[1];
    expect(stdout).toBe(`OPENAI_BASE_URL=${origin}/v1\nANTHROPIC_BASE_URL=${origin}\nAZURE_OPENAI_ENDPOINT=${origin}\nAWS_ENDPOINT_URL_BEDROCK_RUNTIME=${origin}\nANTHROPIC_BEDROCK_BASE_URL=${origin}\nGOOGLE_GEMINI_BASE_URL=${origin}\nGROQ_BASE_URL=${origin}/groq\nTOGETHER_BASE_URL=${origin}/together/v1\nCEREBRAS_BASE_URL=${origin}/cerebras\n`);
    expect(stderr).toContain(', Bedrock calls to https://bedrock-runtime.eu-west-3.amazonaws.com (the region of AWS_REGION; each request goes to the region it is signed for)');
  });
});

// `run` and `stream` on Amazon Bedrock, end to end: the built CLI, the real SDKs
// (@anthropic-ai/bedrock-sdk for Claude, BedrockRuntimeClient over HTTP/2 for Converse), and the
// fake Bedrock runtime on 127.0.0.1, which checks every request's SigV4 signature.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../../src/tokens.js';
import { runCli, type CliResult, summaryRow as row } from '../support/cli.js';
import { DEFAULT_TEXT, startFakeBedrock, TEST_CREDENTIALS, type FakeBedrock } from '../support/fake-bedrock.mjs';

let fake: FakeBedrock;
beforeAll(async () => {
  fake = await startFakeBedrock({ defaultReply: { usage: { input: 13, output: 35 } } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const dir = mkdtempSync(join(tmpdir(), 'llm-usage-bedrock-'));

/**
 * The AWS environment of every test, explicit so the credential chain never reads the machine's
 * own ~/.aws or probes the instance metadata service: test keys, a region, the fake's endpoint.
 */
function awsEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: TEST_CREDENTIALS.sessionToken,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_BEARER_TOKEN_BEDROCK: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    ...extra,
  };
}

function cli(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: awsEnv(extra) });
}

const SECRETS = [TEST_CREDENTIALS.secretAccessKey, TEST_CREDENTIALS.sessionToken];

function expectNoSecrets(...texts: string[]) {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}


describe('Bedrock: the seed', () => {
  it('run "Tell me a joke" "Tell me a joke" --model anthropic.claude-v2: 96 tokens, 26 prompt, 70 completion, 2 requests, $0.001888', async () => {
    const r = await cli(['run', 'Tell me a joke', 'Tell me a joke', '--model', 'anthropic.claude-v2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n${DEFAULT_TEXT}\n`);
    expect(row(r.stderr, 'Tokens Used')).toEqual({ value: '96', source: 'reported' });
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '26', source: 'reported' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '70', source: 'reported' });
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('2');
    expect(row(r.stderr, 'Total Cost (USD)')).toEqual({ value: '$0.001888', source: 'pricing.json: aws/anthropic.claude-v2' });
    expect(r.stderr).not.toMatch(/Warning/);
    expect(fake.requests).toHaveLength(2);
    for (const req of fake.requests) {
      expect(req).toMatchObject({ operation: 'invoke', modelId: 'anthropic.claude-v2', signature: 'valid' });
      expect(req.body).toMatchObject({ max_tokens: 1024, messages: [{ role: 'user', content: 'Tell me a joke' }] });
      expect(typeof req.body.anthropic_version).toBe('string');
    }
    expectNoSecrets(r.stdout, r.stderr);
  });
});

describe('Bedrock: Claude through InvokeModel', () => {
  it('stream: usage from message_start and the cumulative message_delta (35, not 36)', async () => {
    const r = await cli(['stream', '-m', 'anthropic.claude-v2:1', '--json', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ provider: 'bedrock', api: 'messages', stream: true, ok: true, text: DEFAULT_TEXT, usage_source: 'reported', priced_as: 'aws/anthropic.claude-v2' });
    expect(call.usage).toMatchObject({ input_tokens: 13, output_tokens: 35, total_tokens: 48 });
    // The bedrock SDK leaves ':' as it is in a path segment (RFC 3986 allows it); AWS takes both.
    expect(fake.requests[0]).toMatchObject({ operation: 'invoke-with-response-stream', modelId: 'anthropic.claude-v2:1', signature: 'valid' });
    expect(r.stderr).toBe('');
  });

  it('stream: the invocationMetrics of the last chunk when message_delta reports only the output', async () => {
    fake.queue({ usage: { input: 13, output: 35 }, anthropicDeltaUsage: 'output' });
    const r = await cli(['stream', '-m', 'anthropic.claude-v2', '--json', 'hi']);
    expect(JSON.parse(r.stdout).calls[0].usage).toMatchObject({ input_tokens: 13, output_tokens: 35 });
  });

  it('run: without usage in the body, the x-amzn-bedrock token count headers', async () => {
    fake.queue({ usage: { input: 13, output: 35 }, bodyUsage: false });
    const r = await cli(['run', '-m', 'anthropic.claude-v2', '--json', 'hi']);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.usage_source).toBe('reported');
    expect(call.usage).toMatchObject({ input_tokens: 13, output_tokens: 35 });
  });

  it('an inference-profile ARN is sent encoded and priced by the model id it names', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
    const r = await cli(['run', '-m', arn, '--json', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]).toMatchObject({ operation: 'invoke', modelId: arn, signature: 'valid' });
    // One path segment: the ARN's '/' is encoded.
    expect(fake.requests[0]?.path).toMatch(/^\/model\/arn[^/]+inference-profile%2Fus\.anthropic[^/]+\/invoke$/);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ requested_model: arn, model: 'us.anthropic.claude-3-haiku-20240307-v1:0' });
    expect(call.priced_as).toMatch(/^aws\//);
    expect(call.cost_usd).toBeGreaterThan(0);
  });
});

describe('Bedrock: other models through Converse', () => {
  it('run -m amazon.nova-pro-v1:0: Converse over HTTP/2, cache reads added to the prompt and priced at their rate', async () => {
    fake.queue({ usage: { input: 1000, cached: 600, output: 50 } });
    const r = await cli(['run', '-m', 'amazon.nova-pro-v1:0', '--system', 'Be brief', '--max-tokens', '64', '--json', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    const req = fake.requests[0];
    expect(req).toMatchObject({ httpVersion: '2.0', operation: 'converse', modelId: 'amazon.nova-pro-v1:0', signature: 'valid' });
    expect(req?.body).toMatchObject({ messages: [{ role: 'user', content: [{ text: 'hi' }] }], system: [{ text: 'Be brief' }], inferenceConfig: { maxTokens: 64 } });
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ provider: 'bedrock', api: 'converse', text: DEFAULT_TEXT, priced_as: 'aws/amazon.nova-pro-v1:0' });
    expect(call.usage).toMatchObject({ input_tokens: 1000, output_tokens: 50, input_token_details: { cache_read: 600, cache_creation: 0 } });
    expect(call.cost_usd).toBeGreaterThan(0);
  });

  it('stream -m us.meta.llama3-...: usage from the metadata event; --verbose logs each attempt', async () => {
    const r = await cli(['stream', '-m', 'us.meta.llama3-1-8b-instruct-v1:0', '--verbose', 'Tell me a joke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${DEFAULT_TEXT}\n`);
    expect(fake.requests[0]).toMatchObject({ operation: 'converse-stream', httpVersion: '2.0' });
    expect(row(r.stderr, 'Prompt Tokens')).toEqual({ value: '13', source: 'reported' });
    expect(row(r.stderr, 'Completion Tokens')).toEqual({ value: '35', source: 'reported' });
    expect(r.stderr).toMatch(/llm-usage: attempt 1: POST \/model\/us\.meta\.llama3-1-8b-instruct-v1%3A0\/converse-stream -> 200 \(request id [0-9a-f-]+\)/);
    // The AWS SDK's Node-version notice (it constructs a BedrockRuntimeClient here) is not shown.
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('--provider bedrock with --base-url, which beats the environment; AWS_ENDPOINT_URL is the last fallback', async () => {
    const flag = await cli(['run', '--provider', 'bedrock', '-m', 'mistral.mistral-large-2402-v1:0', '--base-url', fake.url, '--json', 'hi'], { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://127.0.0.1:9' });
    expect(flag.code, flag.stderr).toBe(0);
    expect(fake.requests).toHaveLength(1);
    const general = await cli(['run', '-m', 'mistral.mistral-large-2402-v1:0', 'hi'], { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: undefined, AWS_ENDPOINT_URL: fake.url });
    expect(general.code, general.stderr).toBe(0);
    expect(fake.requests).toHaveLength(2);
  });

  it('a cut stream keeps its text, is estimated, and fails (exit 1)', async () => {
    fake.queue({ chunks: ['Why', ' did', ' the', ' chicken'], cutAfter: 3 });
    const r = await cli(['stream', '-m', 'amazon.nova-pro-v1:0', '--json', 'joke']);
    expect(r.code).toBe(1);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call).toMatchObject({ ok: false, text: 'Why did the', usage_source: 'estimated' });
    expect(call.usage.output_tokens).toBe(await countTokens('Why did the', 'o200k_base'));
  });
});

describe('Bedrock: bad input and failures', () => {
  it('no region: exit 2, one line naming AWS_REGION, nothing on stdout, nothing sent', async () => {
    const r = await cli(['run', '-m', 'anthropic.claude-v2', 'hi'], { AWS_REGION: undefined });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('llm-usage: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile\n');
    // AWS_DEFAULT_REGION is enough.
    const legacy = await cli(['run', '-m', 'anthropic.claude-v2', 'hi'], { AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-east-1' });
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(fake.requests).toHaveLength(1);
  });

  it('region and credentials from the AWS profile (AWS_PROFILE, ~/.aws/config and credentials)', async () => {
    const config = join(dir, 'config');
    const credentials = join(dir, 'credentials');
    writeFileSync(config, '[profile team]\nregion = us-east-1\n');
    writeFileSync(credentials, `[team]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\naws_session_token = ${TEST_CREDENTIALS.sessionToken}\n`);
    const profile = { AWS_PROFILE: 'team', AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_REGION: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined };
    const r = await cli(['run', '-m', 'amazon.nova-pro-v1:0', 'hi'], profile);
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests[0]?.signature).toBe('valid');
    const other = await cli(['run', '-m', 'amazon.nova-pro-v1:0', 'hi'], { ...profile, AWS_PROFILE: 'nobody' });
    expect(other.code).toBe(2);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(/^llm-usage: no AWS region/);
  });

  it('no credentials: exit 2, one line naming what to set, nothing sent', async () => {
    const r = await cli(['stream', '-m', 'amazon.nova-pro-v1:0', 'hi'], { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llm-usage: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    expect(fake.requests).toHaveLength(0);
  });

  it('bad --api and -n for Bedrock are exit 2', async () => {
    for (const args of [
      ['run', '-m', 'anthropic.claude-v2', '--api', 'chat', 'hi'],
      ['run', '-m', 'amazon.nova-pro-v1:0', '-n', '2', 'hi'],
      ['run', '-m', 'gpt-4o', '--api', 'converse', 'hi'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('wrong credentials: the 403 names the error type and what to check; exit 1', async () => {
    const r = await cli(['run', '-m', 'amazon.nova-pro-v1:0', 'hi'], { AWS_SECRET_ACCESS_KEY: 'wrongSECRETwrongSECRETwrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/llm-usage: bedrock amazon\.nova-pro-v1:0: 403 InvalidSignatureException: The request signature we calculated does not match.*\(check the AWS credentials/);
    expect(r.stderr).not.toContain('wrongSECRETwrongSECRETwrong');
  });

  it('a ValidationException fails its call; the other call still counts; exit 1', async () => {
    fake.queue({ status: 400, errorMessage: 'The provided model identifier is invalid.' }, { usage: { input: 13, output: 35 } });
    const r = await cli(['run', '-m', 'anthropic.claude-v2', 'one', 'two']);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('llm-usage:'));
    expect(errors).toEqual(['llm-usage: bedrock anthropic.claude-v2: 400 ValidationException: The provided model identifier is invalid.']);
    expect(row(r.stderr, 'Successful Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Failed Requests')?.value).toBe('1');
    expect(row(r.stderr, 'Tokens Used')?.value).toBe('48');
  });

  it('a ThrottlingException (429) is retried by the SDK, then succeeds', async () => {
    fake.queue({ status: 429, headers: { 'retry-after-ms': '1' } });
    const r = await cli(['run', '-m', 'anthropic.claude-v2', '--verbose', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/attempt 1: POST \/model\/anthropic\.claude-v2\/invoke -> 429 \(request id [0-9a-f-]+\)/);
    expect(r.stderr).toMatch(/attempt 2: POST \/model\/anthropic\.claude-v2\/invoke -> 200/);
    expect(fake.requests).toHaveLength(2);
  });

  it('an exception frame mid-stream keeps the text and fails the call', async () => {
    fake.queue({ chunks: ['a', 'b', 'c'], streamError: 2, errorType: 'ModelStreamErrorException', errorMessage: 'The model stream failed.' });
    const r = await cli(['stream', '-m', 'amazon.nova-pro-v1:0', 'hi']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ab\n');
    expect(r.stderr).toMatch(/llm-usage: bedrock amazon\.nova-pro-v1:0: stream-error: The model stream failed\./);
  });
});

describe('Bedrock: secrets never show', () => {
  it('the secret key and session token appear in no output, error, verbose log or ledger line', async () => {
    const ledger = join(dir, 'ledger.jsonl');
    // A server that echoes them back in its error message.
    fake.queue({ status: 400, errorMessage: `bad request from ${TEST_CREDENTIALS.secretAccessKey} with ${TEST_CREDENTIALS.sessionToken}` }, {});
    const r = await cli(['run', '-m', 'amazon.nova-pro-v1:0', '--verbose', 'one', 'two'], { LLM_USAGE_LEDGER: ledger });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/400 ValidationException: bad request from \*\*\* with \*\*\*/);
    const json = await cli(['stream', '-m', 'anthropic.claude-v2', '--json', 'three'], { LLM_USAGE_LEDGER: ledger });
    // The --json error field is printed as the provider left it: each Bedrock provider must redact.
    fake.queue({ status: 400, errorMessage: `echo ${TEST_CREDENTIALS.secretAccessKey}` }, { status: 403, errorMessage: `echo ${TEST_CREDENTIALS.sessionToken}` });
    const echoed = [
      await cli(['run', '-m', 'amazon.nova-pro-v1:0', '--json', 'four'], { LLM_USAGE_LEDGER: ledger }),
      await cli(['run', '-m', 'anthropic.claude-v2', '--json', 'five'], { LLM_USAGE_LEDGER: ledger }),
    ];
    for (const e of echoed) {
      expect(e.code).toBe(1);
      expect(JSON.parse(e.stdout).calls[0].error).toMatch(/echo \*\*\*/);
    }
    const report = await cli(['report', '--json'], { LLM_USAGE_LEDGER: ledger });
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(ledger, 'utf8').trim().split('\n')).toHaveLength(5);
    expectNoSecrets(r.stdout, r.stderr, json.stdout, json.stderr, ...echoed.flatMap((e) => [e.stdout, e.stderr]), readFileSync(ledger, 'utf8'), report.stdout, report.stderr);
  });
});

// The fake Bedrock runtime is only useful if the real clients take it for Bedrock: these tests
// drive it through @aws-sdk/client-bedrock-runtime (HTTP/2, its default), @anthropic-ai/bedrock-sdk
// (HTTP/1.1 fetch) and raw SigV4-signed requests where the bytes and the signature checks matter.

import { request } from 'node:http';
import { connect } from 'node:http2';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bedrockStreamMeter } from '../src/wire/bedrock.js';
import { DEFAULT_TEXT, startFakeBedrock, TEST_CREDENTIALS, type FakeBedrock } from './support/fake-bedrock.mjs';

// The SDK prints a Node-version notice on Node 20; these tests are about the fake.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

let fake: FakeBedrock;
let aws: BedrockRuntimeClient;
let claude: AnthropicBedrock;

beforeAll(async () => {
  fake = await startFakeBedrock();
  aws = new BedrockRuntimeClient({ region: fake.region, endpoint: fake.url, credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1 });
  claude = new AnthropicBedrock({
    awsRegion: fake.region,
    baseURL: fake.url,
    awsAccessKey: TEST_CREDENTIALS.accessKeyId,
    awsSecretKey: TEST_CREDENTIALS.secretAccessKey,
    awsSessionToken: TEST_CREDENTIALS.sessionToken,
    maxRetries: 0,
  });
});
afterAll(async () => {
  aws.destroy();
  await fake.close();
});
beforeEach(() => fake.reset());

const messages = [{ role: 'user' as const, content: [{ text: 'Tell me a joke' }] }];

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body as it arrived, read by read. */
  chunks: Buffer[];
  /** The connection closed before the body ended. */
  cut: boolean;
}

/**
 * POSTs a JSON body over HTTP/1.1, SigV4-signed for `signFor` (default: the fake's own host)
 * with `credentials` (default: the test ones); `body` may differ from what was signed.
 */
async function signedPost(
  path: string,
  json: unknown,
  opts: { signFor?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; unsigned?: boolean; sentBody?: string } = {},
): Promise<RawResponse> {
  const body = JSON.stringify(json);
  let headers: Record<string, string> = { host: opts.signFor ?? fake.host, 'content-type': 'application/json' };
  if (!opts.unsigned) {
    const signer = new SignatureV4({ service: 'bedrock', region: fake.region, credentials: opts.credentials ?? { ...TEST_CREDENTIALS }, sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: fake.port, path, query: {}, headers, body });
    headers = signed.headers;
  }
  const sent = opts.sentBody ?? body;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: fake.port, path, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(sent)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = (cut: boolean) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), chunks, cut });
      res.on('end', () => done(false));
      // A cut stream: what arrived before the connection closed.
      res.on('error', () => done(true));
    });
    req.on('error', reject);
    req.end(sent);
  });
}

const claudeBody = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a joke' }] };

describe('the four operations through the real SDKs', () => {
  it('Converse through BedrockRuntimeClient, over HTTP/2 (its default), an ARN model id decoded', async () => {
    fake.queue({ usage: { input: 1100, cached: 1000, cacheWrite: 50, output: 35 } });
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-8b-instruct-v1:0';
    const r = await aws.send(new ConverseCommand({ modelId: arn, messages }));
    expect(r.output?.message?.content?.[0]?.text).toBe(DEFAULT_TEXT);
    expect(r.usage).toEqual({ inputTokens: 50, outputTokens: 35, totalTokens: 1135, cacheReadInputTokens: 1000, cacheWriteInputTokens: 50 });
    const req = fake.requests[0];
    expect(req).toMatchObject({ httpVersion: '2.0', operation: 'converse', modelId: arn, signature: 'valid' });
    expect(req?.path).toBe(`/model/${encodeURIComponent(arn)}/converse`);
    expect(req?.body).toMatchObject({ messages });
  });

  it('ConverseStream through BedrockRuntimeClient: deltas, then metadata with usage', async () => {
    fake.queue({ chunks: ['Hello', ' there'], usage: { input: 13, output: 35 } });
    const r = await aws.send(new ConverseStreamCommand({ modelId: 'amazon.nova-pro-v1:0', messages }));
    const seen: string[] = [];
    let text = '';
    let usage: unknown;
    for await (const event of r.stream ?? []) {
      seen.push(Object.keys(event).find((k) => k !== '$unknown') ?? '?');
      text += event.contentBlockDelta?.delta?.text ?? '';
      if (event.metadata) usage = event.metadata.usage;
    }
    expect(seen).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(text).toBe('Hello there');
    expect(usage).toEqual({ inputTokens: 13, outputTokens: 35, totalTokens: 48 });
  });

  it('InvokeModel through AnthropicBedrock (HTTP/1.1): Anthropic usage, cache reads and writes beside input', async () => {
    fake.queue({ usage: { input: 1520, cached: 1000, cacheWrite: 500, output: 100 } });
    const m = await claude.messages.create({ model: 'anthropic.claude-3-5-haiku-20241022-v1:0', max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a joke' }] });
    expect(m.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 500, output_tokens: 100 });
    expect(m.content[0]).toMatchObject({ type: 'text', text: DEFAULT_TEXT });
    expect(fake.requests[0]).toMatchObject({ httpVersion: '1.1', operation: 'invoke', modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0', signature: 'valid' });
    expect(fake.requests[0]?.body).toHaveProperty('anthropic_version');
    expect(fake.requests[0]?.body).not.toHaveProperty('model');
  });

  it('InvokeModelWithResponseStream through AnthropicBedrock: cumulative usage and the invocation metrics', async () => {
    fake.queue({ usage: { input: 13, output: 35 } });
    const stream = await claude.messages.create({ model: 'anthropic.claude-v2', max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a joke' }], stream: true });
    let text = '';
    const usages: unknown[] = [];
    let metrics: unknown;
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_start') usages.push(event.message.usage.output_tokens);
      if (event.type === 'message_delta') usages.push(event.usage.output_tokens);
      if (event.type === 'message_stop') metrics = (event as unknown as Record<string, unknown>)['amazon-bedrock-invocationMetrics'];
    }
    expect(text).toBe(DEFAULT_TEXT);
    expect(usages).toEqual([1, 35]);
    expect(metrics).toMatchObject({ inputTokenCount: 13, outputTokenCount: 35 });
    expect(fake.requests[0]?.path).toBe('/model/anthropic.claude-v2/invoke-with-response-stream');
  });

  it('InvokeModel answers with the x-amzn-bedrock token count headers', async () => {
    fake.queue({ usage: { input: 13, output: 35 }, bodyUsage: false });
    const r = await signedPost('/model/anthropic.claude-v2/invoke', claudeBody);
    expect(r.status).toBe(200);
    expect(r.headers['x-amzn-bedrock-input-token-count']).toBe('13');
    expect(r.headers['x-amzn-bedrock-output-token-count']).toBe('35');
    expect(JSON.parse(r.body.toString())).not.toHaveProperty('usage');
    const sdk = await aws.send(new InvokeModelCommand({ modelId: 'anthropic.claude-v2', body: JSON.stringify(claudeBody), contentType: 'application/json' }));
    expect(JSON.parse(new TextDecoder().decode(sdk.body)).usage).toMatchObject({ input_tokens: 11, output_tokens: 16 });
  });

  it('Claude bodies without anthropic_version are refused as Bedrock refuses them', async () => {
    const r = await signedPost('/model/anthropic.claude-v2/invoke', { max_tokens: 10, messages: [] });
    expect(r.status).toBe(400);
    expect(r.headers['x-amzn-errortype']).toMatch(/^ValidationException:/);
    expect(JSON.parse(r.body.toString()).message).toMatch(/anthropic_version/);
  });
});

describe('event streams on the wire', () => {
  it('splits frames across writes, and the wire reader reads them whole', async () => {
    fake.queue({ usage: { input: 13, output: 35 }, chunks: ['a', 'b', 'c'] });
    const r = await signedPost('/model/anthropic.claude-v2/invoke-with-response-stream', claudeBody);
    expect(r.headers['content-type']).toBe('application/vnd.amazon.eventstream');
    // Some read ends inside a frame: the first write of a frame is only its first 3 bytes.
    expect(r.chunks.some((c) => c.length < 12)).toBe(true);
    const meter = bedrockStreamMeter('invoke-with-response-stream');
    for (const c of r.chunks) meter.push(c);
    const o = await meter.outcome('complete');
    expect(o).toMatchObject({ text: ['abc'], usage: { input_tokens: 13, output_tokens: 35 }, model: 'anthropic.claude-v2' });
    expect(o.failure).toBeUndefined();
  });

  it('a stream error sends an exception frame; a cut stream just stops', async () => {
    fake.queue({ chunks: ['a', 'b', 'c'], streamError: 1, errorType: 'ThrottlingException', errorMessage: 'slow down' });
    const thrown = await aws.send(new ConverseStreamCommand({ modelId: 'amazon.nova-pro-v1:0', messages }));
    let text = '';
    await expect(
      (async () => {
        for await (const e of thrown.stream ?? []) text += e.contentBlockDelta?.delta?.text ?? '';
      })(),
    ).rejects.toMatchObject({ name: 'ThrottlingException', message: 'slow down' });
    expect(text).toBe('a');

    fake.queue({ chunks: ['a', 'b', 'c'], cutAfter: 2 });
    const r = await signedPost('/model/amazon.nova-pro-v1%3A0/converse-stream', { messages });
    expect(r.cut).toBe(true);
    const meter = bedrockStreamMeter('converse-stream');
    for (const c of r.chunks) meter.push(c);
    expect(await meter.outcome('cut')).toMatchObject({ text: ['ab'], usage: null, failure: { kind: 'stream-cut' } });
  });
});

describe('errors in AWS format', () => {
  it('queued ThrottlingException (429) and ValidationException (400) reach the SDK as their classes', async () => {
    fake.queue({ status: 429 }, { status: 400, errorMessage: 'The provided model identifier is invalid.' });
    await expect(aws.send(new ConverseCommand({ modelId: 'amazon.nova-pro-v1:0', messages }))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    await expect(aws.send(new ConverseCommand({ modelId: 'amazon.nova-pro-v1:0', messages }))).rejects.toMatchObject({ name: 'ValidationException', message: 'The provided model identifier is invalid.' });
  });

  it('an unknown operation is 404 UnknownOperationException', async () => {
    const r = await signedPost('/model/x/nope', {});
    expect(r.status).toBe(404);
    expect(r.headers['x-amzn-errortype']).toMatch(/^UnknownOperationException/);
  });
});

describe('SigV4 is checked as AWS checks it', () => {
  const mismatch = /^The request signature we calculated does not match the signature you provided/;

  it('a wrong secret is 403 InvalidSignatureException, through the SDK too', async () => {
    const r = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' } });
    expect(r.status).toBe(403);
    expect(r.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
    expect(JSON.parse(r.body.toString()).message).toMatch(mismatch);
    const wrong = new BedrockRuntimeClient({ region: fake.region, endpoint: fake.url, credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' }, maxAttempts: 1 });
    await expect(wrong.send(new ConverseCommand({ modelId: 'amazon.nova-pro-v1:0', messages }))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    wrong.destroy();
  });

  it('a request signed for another host is refused (a proxy that forgot to re-sign)', async () => {
    const r = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { signFor: 'bedrock-runtime.us-east-1.amazonaws.com' });
    expect(r.status).toBe(403);
    expect(r.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
    expect(fake.requests[0]?.signature).toBe('InvalidSignatureException');
  });

  it('an unknown access key or session token is UnrecognizedClientException; no signature is MissingAuthenticationToken', async () => {
    const key = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { credentials: { ...TEST_CREDENTIALS, accessKeyId: 'AKIAOTHER' } });
    expect(key.status).toBe(403);
    expect(key.headers['x-amzn-errortype']).toMatch(/^UnrecognizedClientException:/);
    const token = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { credentials: { ...TEST_CREDENTIALS, sessionToken: 'other' } });
    expect(token.headers['x-amzn-errortype']).toMatch(/^UnrecognizedClientException:/);
    const none = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { unsigned: true });
    expect(none.status).toBe(403);
    expect(none.headers['x-amzn-errortype']).toMatch(/^MissingAuthenticationTokenException:/);
  });

  it('a body other than the one signed is refused', async () => {
    const r = await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages }, { sentBody: JSON.stringify({ messages, extra: 1 }) });
    expect(r.status).toBe(403);
    expect(r.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
    // The same body, signed: accepted (so the refusals above are about the signature alone).
    expect((await signedPost('/model/amazon.nova-pro-v1%3A0/converse', { messages })).status).toBe(200);
  });

  it('HTTP/2 without the SDK: :authority is what is checked', async () => {
    const session = connect(fake.url);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/model/x/converse', 'content-type': 'application/json' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.end('{}');
      });
      expect(status).toBe(403);
      expect(fake.requests[0]).toMatchObject({ httpVersion: '2.0', signature: 'MissingAuthenticationTokenException' });
    } finally {
      session.close();
    }
  });
});

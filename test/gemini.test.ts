// Gemini, pure parts: usageMetadata normalised and priced by hand from pricing.json's google
// figures (cached content, thoughts, tool-use prompt, gemini-2.5-pro's tier above 200k), the wire
// readers on raw bytes split at every offset, planning, proxy routes and key redaction.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactKeys } from '../src/errors.js';
import { geminiUsage } from '../src/normalise.js';
import { planCalls, providerOf } from '../src/plan.js';
import { costOf } from '../src/pricing/cost.js';
import { loadPriceTable, priceAt } from '../src/pricing/table.js';
import { googleError } from '../src/providers/gemini.js';
import { redact } from '../src/providers/transport.js';
import { errorReply } from '../src/proxy/provider-errors.js';
import { geminiTargetOf } from '../src/proxy/google.js';
import { keyOf } from '../src/proxy/headers.js';
import { clientEnv, clientProvidersOf, routeOf, upstreamsOf, type Route } from '../src/proxy/routes.js';
import { recordOf } from '../src/record.js';
import { operationOf } from '../src/telemetry/attributes.js';
import { PROVIDER } from '../src/telemetry/semconv.js';
import { bodyOutcome, streamMeter, type BodyEnd } from '../src/wire/index.js';
import { LineSplitter, SseReader } from '../src/wire/sse.js';

const table = loadPriceTable();
const KEY = 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW';

/** pricing.json's own google figures for a model, per 1M tokens. */
function googlePrices(id: string): Record<string, number | { base: number; tiers: { start: number; price: number }[] }> {
  const json = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8'));
  const google = json.providers.find((p: { id: string }) => p.id === 'google');
  return google.models.find((m: { id: string }) => m.id === id).prices;
}

async function costFor(model: string, usageMetadata: object): Promise<{ usd: number | null; priced: string | null; usage: ReturnType<typeof geminiUsage> }> {
  const usage = geminiUsage(usageMetadata);
  const r = await recordOf({ provider: 'google', api: 'gemini', model, prompt: '', stream: false, streamUsage: false, apiKey: '' }, { text: [''], model, usage }, 1, table);
  return { usd: r.cost_usd, priced: r.priced_as, usage };
}

describe('usageMetadata, priced by hand from pricing.json', () => {
  const flash = googlePrices('gemini-2.5-flash') as Record<string, number>;

  it('plain: prompt at the input rate, candidates at the output rate', async () => {
    const { usd, priced, usage } = await costFor('gemini-2.5-flash', { promptTokenCount: 11, candidatesTokenCount: 16, totalTokenCount: 27 });
    expect(usage).toMatchObject({ input_tokens: 11, output_tokens: 16, total_tokens: 27 });
    expect(priced).toBe('google/gemini-2.5-flash');
    expect(usd).toBeCloseTo((11 * flash.input_mtok! + 16 * flash.output_mtok!) / 1e6, 15);
  });

  it('cached content: inside promptTokenCount, billed at the cache-read rate', async () => {
    const { usd, usage } = await costFor('gemini-2.5-flash', { promptTokenCount: 2000, cachedContentTokenCount: 1500, candidatesTokenCount: 100, totalTokenCount: 2100 });
    expect(usage).toMatchObject({ input_tokens: 2000, output_tokens: 100, input_token_details: { cache_read: 1500 } });
    expect(usd).toBeCloseTo((500 * flash.input_mtok! + 1500 * flash.cache_read_mtok! + 100 * flash.output_mtok!) / 1e6, 15);
    // $0.3 x 500 + $0.03 x 1500 + $2.5 x 100, per 1M.
    expect(usd).toBe(0.000445);
  });

  it('thoughts: NOT inside candidatesTokenCount; added to output as reasoning, billed at the output rate', async () => {
    const { usd, usage } = await costFor('gemini-2.5-flash', { promptTokenCount: 10, candidatesTokenCount: 40, thoughtsTokenCount: 300, totalTokenCount: 350 });
    expect(usage).toMatchObject({ input_tokens: 10, output_tokens: 340, total_tokens: 350, output_token_details: { reasoning: 300 } });
    expect(usd).toBeCloseTo((10 * flash.input_mtok! + 340 * flash.output_mtok!) / 1e6, 15);
  });

  it('tool-use prompt: input beside promptTokenCount, at the input rate', async () => {
    const { usd, usage } = await costFor('gemini-2.5-flash', { promptTokenCount: 100, toolUsePromptTokenCount: 900, candidatesTokenCount: 50, totalTokenCount: 1050 });
    expect(usage).toMatchObject({ input_tokens: 1000, output_tokens: 50, total_tokens: 1050 });
    expect(usd).toBeCloseTo((1000 * flash.input_mtok! + 50 * flash.output_mtok!) / 1e6, 15);
  });

  it('gemini-2.5-pro above 200k input tokens: the higher tier for the whole request, every part', async () => {
    const pro = googlePrices('gemini-2.5-pro') as Record<string, { base: number; tiers: { start: number; price: number }[] }>;
    const high = (k: string) => pro[k]!.tiers[0]!.price;
    const low = (k: string) => pro[k]!.base;
    expect(pro.input_mtok!.tiers[0]!.start).toBe(200_000);
    const above = await costFor('gemini-2.5-pro', { promptTokenCount: 250_000, cachedContentTokenCount: 50_000, candidatesTokenCount: 1000, thoughtsTokenCount: 500, totalTokenCount: 251_500 });
    expect(above.usd).toBeCloseTo((200_000 * high('input_mtok') + 50_000 * high('cache_read_mtok') + 1500 * high('output_mtok')) / 1e6, 12);
    // $2.50 x 200,000 + $0.25 x 50,000 + $15 x 1,500, per 1M.
    expect(above.usd).toBe(0.535);
    // Exactly 200k is not above it; the tool-use prompt counts towards the threshold.
    const at = await costFor('gemini-2.5-pro', { promptTokenCount: 200_000, candidatesTokenCount: 1000, totalTokenCount: 201_000 });
    expect(at.usd).toBeCloseTo((200_000 * low('input_mtok') + 1000 * low('output_mtok')) / 1e6, 12);
    const tools = await costFor('gemini-2.5-pro', { promptTokenCount: 199_000, toolUsePromptTokenCount: 2000, candidatesTokenCount: 1000, totalTokenCount: 202_000 });
    expect(tools.usd).toBeCloseTo((201_000 * high('input_mtok') + 1000 * high('output_mtok')) / 1e6, 12);
  });

  it('no usageMetadata, or one without counts, is no usage (not zero)', () => {
    expect(geminiUsage(undefined)).toBeNull();
    expect(geminiUsage({})).toBeNull();
    expect(geminiUsage({ promptTokenCount: 'x' })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Wire readers on raw bytes

function chunk(text: string, usage: object, finish?: string): object {
  return { candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 }], usageMetadata: usage, modelVersion: 'gemini-2.5-flash', responseId: 'r1' };
}

/** A Gemini SSE stream whose usageMetadata grows chunk by chunk: only the last is final. */
const STREAM = [
  chunk('Why', { promptTokenCount: 12, candidatesTokenCount: 1, totalTokenCount: 13 }),
  chunk(' did the', { promptTokenCount: 12, candidatesTokenCount: 3, totalTokenCount: 15 }),
  { candidates: [{ content: { parts: [{ text: 'hmm', thought: true }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 20, totalTokenCount: 35 } },
  chunk(' chicken', { promptTokenCount: 12, cachedContentTokenCount: 4, candidatesTokenCount: 7, thoughtsTokenCount: 20, totalTokenCount: 39 }, 'STOP'),
];

function sseBytes(chunks: object[]): Buffer {
  return Buffer.from(chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join(''));
}

function meterBytes(parts: Buffer[], end: BodyEnd = 'complete') {
  const meter = streamMeter('gemini');
  const splitter = new LineSplitter();
  const reader = new SseReader(meter.wants);
  for (const part of parts) {
    splitter.scan(part, (buf, start, stop) => {
      const event = reader.lineAt(buf, start, stop);
      if (event) meter.raw(event.event, event.data);
    });
  }
  return meter.outcome(end);
}

describe('the Gemini wire readers', () => {
  it('an SSE stream split at every offset: the last usageMetadata, never a sum; thought parts left out of the text', () => {
    const bytes = sseBytes(STREAM);
    const expected = { input_tokens: 12, output_tokens: 27, total_tokens: 39, input_token_details: { cache_read: 4, cache_creation: 0 }, output_token_details: { reasoning: 20 } };
    for (let at = 0; at <= bytes.length; at++) {
      const outcome = meterBytes([bytes.subarray(0, at), bytes.subarray(at)]);
      expect(outcome.usage, `split at ${at}`).toEqual(expected);
      expect(outcome.failure, `split at ${at}`).toBeUndefined();
      expect(outcome.model).toBe('gemini-2.5-flash');
      expect(outcome.requestId).toBe('r1');
    }
    // And one byte at a time.
    expect(meterBytes([...bytes].map((b) => Buffer.from([b]))).usage).toEqual(expected);
  });

  it('a stream without a finishReason is cut, its last usage kept; an error chunk is a stream error in Google\'s terms', () => {
    const cut = meterBytes([sseBytes(STREAM.slice(0, 2))]);
    expect(cut.failure).toEqual({ kind: 'stream-cut', message: 'stream ended before a finishReason' });
    expect(cut.usage).toMatchObject({ input_tokens: 12, output_tokens: 3 });
    const dropped = meterBytes([sseBytes(STREAM.slice(0, 2))], 'cut');
    expect(dropped.failure?.kind).toBe('stream-cut');
    const error = meterBytes([sseBytes([STREAM[0] as object, { error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } }])]);
    expect(error.failure).toEqual({ kind: 'stream-error', message: 'An internal error has occurred.', type: 'INTERNAL' });
    expect(error.text).toEqual(['Why']);
  });

  it('without usage anywhere, the text is kept for an estimate', () => {
    const outcome = meterBytes([sseBytes([{ candidates: [{ content: { parts: [{ text: 'Hello' }] }, finishReason: 'STOP' }] }])]);
    expect(outcome).toMatchObject({ usage: null, text: ['Hello'] });
  });

  it('the JSON-array stream (no alt=sse) is read as the stream would be; whole bodies and Google\'s error bodies too', () => {
    const array = `[${STREAM.map((c) => JSON.stringify(c, null, 2)).join('\n,\r\n')}\n]`;
    const outcome = bodyOutcome('gemini', 200, array, 'complete');
    expect(outcome.usage).toMatchObject({ input_tokens: 12, output_tokens: 27, output_token_details: { reasoning: 20 } });
    expect(outcome.text).toEqual(['Why did the chicken']);
    expect(outcome.failure).toBeUndefined();
    // Cut anywhere: the chunks that arrived whole keep their reported usage and text.
    const ends = STREAM.map((_, k) => `[${STREAM.slice(0, k + 1).map((c) => JSON.stringify(c, null, 2)).join('\n,\r\n')}`.length);
    for (let at = 1; at < array.length - 2; at++) {
      const cut = bodyOutcome('gemini', 200, array.slice(0, at), 'cut');
      expect(cut.failure?.kind, `cut at ${at}`).toBe('stream-cut');
      const whole = ends.filter((e) => e <= at).length;
      const last = STREAM[whole - 1] as { usageMetadata?: object } | undefined;
      expect(cut.usage, `cut at ${at}`).toEqual(whole ? geminiUsage(last?.usageMetadata) : null);
    }

    const whole = bodyOutcome('gemini', 200, JSON.stringify({ candidates: [0, 1].map((i) => ({ content: { parts: [{ text: `c${i}` }] }, finishReason: 'STOP', index: i })), usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 6, totalTokenCount: 11 }, modelVersion: 'gemini-2.5-pro' }), 'complete');
    expect(whole).toMatchObject({ text: ['c0', 'c1'], model: 'gemini-2.5-pro', usage: { input_tokens: 5, output_tokens: 6 } });

    const error = bodyOutcome('gemini', 429, JSON.stringify({ error: { code: 429, message: 'You exceeded your current quota.', status: 'RESOURCE_EXHAUSTED' } }), 'complete');
    expect(error.failure).toEqual({ kind: 'http', status: 429, message: 'You exceeded your current quota.', type: 'RESOURCE_EXHAUSTED' });
  });

  it('the SDK\'s ApiError message is read back into Google\'s message and status', () => {
    expect(googleError('{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}')).toEqual({ message: 'API key not valid. Please pass a valid API key.', type: 'INVALID_ARGUMENT' });
    expect(googleError('got status: INTERNAL. {"error":{"code":500,"message":"boom","status":"INTERNAL"}}')).toEqual({ message: 'boom', type: 'INTERNAL' });
    expect(googleError('fetch failed')).toEqual({ message: 'fetch failed' });
  });
});

// ---------------------------------------------------------------------------------------------
// Planning

describe('which calls go to Google, with which key and base URL', () => {
  const env = { GEMINI_API_KEY: KEY };
  const plan = (opts: Partial<Parameters<typeof planCalls>[1]>, e: NodeJS.ProcessEnv = env) => planCalls(['hi'], { model: 'gpt-4o-mini', stream: false, streamUsage: false, ...opts }, e)[0]!;

  it('--provider google or gemini, google/MODEL or gemini/MODEL, or a gemini-* model', () => {
    expect(providerOf({ model: 'gemini-2.5-flash' })).toBe('google');
    expect(providerOf({ model: 'google/gemini-2.5-pro' })).toBe('google');
    expect(providerOf({ model: 'gemini/gemini-2.5-pro' })).toBe('google');
    expect(providerOf({ model: 'gemma-3-27b-it', provider: 'gemini' })).toBe('google');
    expect(providerOf({ model: 'gpt-4o' })).toBe('openai');
    expect(() => providerOf({ model: 'google/gemini-2.5-pro', provider: 'openai' })).toThrow(/names Google's Gemini API: drop --provider openai, or the google\/ prefix/);
    expect(plan({ model: 'google/gemini-2.5-pro' })).toMatchObject({ provider: 'google', api: 'gemini', model: 'gemini-2.5-pro', apiKey: KEY });
  });

  it('the key from GOOGLE_API_KEY or GEMINI_API_KEY (GOOGLE_API_KEY first, as the SDK); none is one line naming GEMINI_API_KEY', () => {
    expect(plan({ model: 'gemini-2.5-flash' }, { GOOGLE_API_KEY: 'google-key-123' }).apiKey).toBe('google-key-123');
    expect(plan({ model: 'gemini-2.5-flash' }, { GOOGLE_API_KEY: 'google-key-123', GEMINI_API_KEY: KEY }).apiKey).toBe('google-key-123');
    expect(() => plan({ model: 'gemini-2.5-flash' }, { GEMINI_API_KEY: ' ', OPENAI_API_KEY: 'sk-x' })).toThrow('no API key: set the GEMINI_API_KEY environment variable (or GOOGLE_API_KEY)');
  });

  it('the base URL from --base-url, else GOOGLE_GEMINI_BASE_URL, else the SDK\'s default; --api chat is its OpenAI-compatible endpoint', () => {
    expect(plan({ model: 'gemini-2.5-flash' }).baseURL).toBeUndefined();
    expect(plan({ model: 'gemini-2.5-flash' }, { ...env, GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:1/' }).baseURL).toBe('http://127.0.0.1:1');
    expect(plan({ model: 'gemini-2.5-flash', baseUrl: 'http://127.0.0.1:2' }, { ...env, GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:1' }).baseURL).toBe('http://127.0.0.1:2');
    expect(plan({ model: 'gemini-2.5-flash', api: 'chat' })).toMatchObject({ provider: 'google', api: 'chat', baseURL: 'https://generativelanguage.googleapis.com/v1beta/openai' });
    expect(() => plan({ model: 'gemini-2.5-flash', api: 'responses' })).toThrow('--api on Google is gemini (generateContent) or chat (its OpenAI-compatible endpoint), not "responses"');
    expect(() => plan({ model: 'gpt-4o', api: 'gemini' })).toThrow(/--api gemini is Google's/);
    // A --base-url that is the OpenAI-compatible endpoint itself speaks chat there.
    expect(plan({ model: 'gemini-2.5-flash', baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/' })).toMatchObject({ api: 'chat', baseURL: 'https://generativelanguage.googleapis.com/v1beta/openai' });
  });

  it('Gemini through the OpenAI flavour (an OpenAI client pointed at …/v1beta/openai) is priced under google', async () => {
    const usage = geminiUsage({ promptTokenCount: 11, candidatesTokenCount: 16 });
    const r = await recordOf({ provider: 'openai', api: 'chat', model: 'gemini-2.5-flash', prompt: '', stream: false, streamUsage: false, apiKey: '', proxied: true }, { text: [''], model: 'gemini-2.5-flash', usage }, 1, table);
    expect(r.priced_as).toBe('google/gemini-2.5-flash');
    expect(r.cost_usd).toBe(0.0000433);
  });
});

// ---------------------------------------------------------------------------------------------
// The proxy

describe('the proxy\'s Gemini routes', () => {
  const upstreams = upstreamsOf({ google: 'http://127.0.0.1:7/base' }, {});
  const route = (method: string, target: string, headers: Record<string, string> = {}) => routeOf(method, target, headers, upstreams, 'http://127.0.0.1:1') as Route;

  it('generateContent and streamGenerateContent (v1beta, v1, v1alpha) are metered, the model and stream from the path', () => {
    expect(route('POST', '/v1beta/models/gemini-2.5-flash:generateContent')).toMatchObject({ provider: 'google', api: 'gemini', upstreamPath: '/base/v1beta/models/gemini-2.5-flash:generateContent', gemini: { model: 'gemini-2.5-flash', stream: false } });
    expect(route('POST', `/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=${KEY}`)).toMatchObject({ api: 'gemini', upstreamPath: `/base/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=${KEY}`, gemini: { model: 'gemini-2.5-pro', stream: true } });
    expect(route('POST', '/v1alpha/models/gemini-2.5-pro:streamGenerateContent')).toMatchObject({ api: 'gemini' });
    expect(route('GET', '/v1beta/models')).toMatchObject({ provider: 'google', api: null, upstreamPath: '/base/v1beta/models' });
    expect(route('POST', '/v1beta/models/gemini-2.5-flash:countTokens')).toMatchObject({ provider: 'google', api: null });
    expect(route('GET', '/v1/models', { 'x-goog-api-key': KEY })).toMatchObject({ provider: 'google', api: null });
    expect(route('POST', '/v1beta/openai/chat/completions')).toMatchObject({ provider: 'google', api: 'chat', upstreamPath: '/base/v1beta/openai/chat/completions' });
    // OpenAI's own paths are untouched.
    expect(route('GET', '/v1/models')).toMatchObject({ provider: 'openai' });
    expect(route('POST', '/v1/chat/completions')).toMatchObject({ provider: 'openai', api: 'chat' });
    expect(geminiTargetOf('/v1beta/models/a%2Fb:generateContent')).toEqual({ model: 'a/b', stream: false });
  });

  it('a path that climbs out of the API is refused', () => {
    expect(routeOf('POST', '/v1beta/../../etc:generateContent', {}, upstreams, 'http://127.0.0.1:1')).toMatchObject({ refusal: 'bad-path' });
  });

  it('the key, in x-goog-api-key or ?key=, is known to the proxy so no echo prints it; it is redacted everywhere', () => {
    expect(keyOf({ 'x-goog-api-key': KEY })).toBe(KEY);
    expect(keyOf({}, `/v1beta/models/m:generateContent?key=${KEY}&alt=sse`)).toBe(KEY);
    expect(redactKeys(`bad key ${KEY}.`, {})).toBe('bad key AIza***.');
    expect(redactKeys('bad key google-own-key-1', { GOOGLE_API_KEY: 'google-own-key-1' })).toBe('bad key ***');
    expect(redact(`url ?key=${KEY}`, '')).toBe('url ?key=***');
  });

  it('upstream from --google-upstream, else GOOGLE_GEMINI_BASE_URL, else Google\'s; exec sets GOOGLE_GEMINI_BASE_URL', () => {
    expect(upstreamsOf({}, {}).google.href).toBe('https://generativelanguage.googleapis.com/');
    expect(upstreamsOf({}, { GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9' }).google.href).toBe('http://127.0.0.1:9/');
    expect(() => upstreamsOf({ google: 'ftp://x' }, {})).toThrow('--google-upstream: "ftp://x" is not an http:// or https:// URL (expected e.g. https://generativelanguage.googleapis.com)');
    expect(clientEnv({}, 'http://127.0.0.1:5', clientProvidersOf('google'))).toEqual({ GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:5' });
  });

  it('the proxy\'s own answers to Gemini clients are in Google\'s error format', () => {
    const r = errorReply('google', 'budget', 'llm-usage: budget exceeded');
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ error: { code: 429, message: 'llm-usage: budget exceeded', status: 'RESOURCE_EXHAUSTED' } });
  });
});

describe('telemetry names Gemini as the GenAI conventions do', () => {
  it('gen_ai.provider.name gcp.gemini, gen_ai.operation.name generate_content (chat through the compatible endpoint)', () => {
    expect(PROVIDER.google).toBe('gcp.gemini');
    expect(operationOf({ api: 'gemini' })).toBe('generate_content');
    expect(operationOf({ api: 'chat' })).toBe('chat');
  });
});

describe('pricing.json prices gemini-2.5-pro in tiers', () => {
  it('costOf applies the tier to the whole request', () => {
    const pro = table.providers.find((p) => p.id === 'google')!.models.find((m) => m.id === 'gemini-2.5-pro')!;
    const c = costOf(geminiUsage({ promptTokenCount: 200_001, candidatesTokenCount: 0 })!, priceAt(pro));
    expect(c.parts.find((p) => p.part === 'input')?.rate).toBe(2.5);
  });
});

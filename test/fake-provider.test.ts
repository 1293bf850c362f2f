// The fake provider is only useful if the real SDKs parse it exactly as they parse the real
// services, so these tests drive it through `openai` and `@anthropic-ai/sdk` (and raw fetch where
// the wire bytes themselves matter) and assert what comes out the other side.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { DEFAULT_TEXT, startFakeProvider, type FakeProvider } from './support/fake-provider.mjs';

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: fake.url + '/v1', maxRetries: 2 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 2 });
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
});

/** Every chunk of a chat stream that asked for usage, as the OpenAI SDK gives them. */
async function chatChunks(extra: { n?: number } = {}): Promise<OpenAI.ChatCompletionChunk[]> {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }], ...extra });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Parses an SSE body into its events (the `event:` name, if any, and the raw data line). */
function parseSse(body: string): { event: string | null; data: string }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | null = null;
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      return { event, data };
    });
}

async function postRaw(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(fake.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('OpenAI chat completions', () => {
  it('answers non-streaming requests with the configured text and usage mapping', async () => {
    fake.queue({ text: 'Hello there', model: 'gpt-4o-2024-08-06', usage: { input: 100, output: 40, cached: 64, reasoning: 12 } });
    const { data, request_id } = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe('gpt-4o-2024-08-06');
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]).toMatchObject({
      index: 0,
      message: { role: 'assistant', content: 'Hello there', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    });
    expect(data.usage).toEqual({
      prompt_tokens: 100,
      completion_tokens: 40,
      total_tokens: 140,
      prompt_tokens_details: { cached_tokens: 64, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 12,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    expect(request_id).toMatch(/^req_/);

    // The request was recorded as sent, credentials included.
    expect(fake.requests).toHaveLength(1);
    const rec = fake.requests[0]!;
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1/chat/completions');
    expect(rec.headers['authorization']).toBe('Bearer sk-test');
    expect(rec.body).toMatchObject({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(JSON.parse(rec.raw)).toEqual(rec.body);
  });

  it('uses the default reply and echoes the requested model when nothing is configured', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'joke' }] });
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    expect(res.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 });
  });

  it('honours n with one choice per index', async () => {
    fake.queue({ text: ['first', 'second', 'third'] });
    const res = await openai.chat.completions.create({ model: 'gpt-4o', n: 3, messages: [{ role: 'user', content: 'x' }] });
    expect(res.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'first'],
      [1, 'second'],
      [2, 'third'],
    ]);
  });

  it('omits usage from a non-streaming response when usage is null', async () => {
    fake.queue({ usage: null });
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(res.usage).toBeUndefined();
  });

  it('streams without a usage chunk (and without usage keys) when include_usage is not asked', async () => {
    fake.queue({ chunks: ['Why', ' hello', ' there'] });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Why hello there');
    const last = chunks.at(-1)!;
    expect(last.choices[0]!.delta).toEqual({});
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('streams a final usage chunk with choices [] only when include_usage is asked', async () => {
    fake.queue({ usage: { input: 20, output: 7, cached: 5 } });
    const chunks = await chatChunks();

    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({
      prompt_tokens: 20,
      completion_tokens: 7,
      total_tokens: 27,
      prompt_tokens_details: { cached_tokens: 5 },
    });
    // The finish_reason chunk comes just before it, and every earlier chunk says usage: null.
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.slice(0, -1).map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe(DEFAULT_TEXT);
  });

  it('sends no usage chunk, even when asked, if the reply reports no usage', async () => {
    fake.queue({ usage: null });
    const chunks = await chatChunks();
    expect(chunks.every((c) => c.choices.length === 1 && c.usage == null)).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('interleaves the choices of an n=2 stream and reports one usage for both', async () => {
    fake.queue({ text: ['alpha beta gamma', 'one two'], usage: { input: 9, output: 30 } });
    const stream = await chatChunks({ n: 2 });
    const text: Record<number, string> = { 0: '', 1: '' };
    const finished: number[] = [];
    const indexOrder: number[] = [];
    const usages = [];
    for await (const chunk of stream) {
      if (chunk.usage) usages.push(chunk.usage);
      for (const choice of chunk.choices) {
        indexOrder.push(choice.index);
        text[choice.index] += choice.delta.content ?? '';
        if (choice.finish_reason) finished.push(choice.index);
      }
    }
    expect(text).toEqual({ 0: 'alpha beta gamma', 1: 'one two' });
    expect(finished.sort()).toEqual([0, 1]);
    expect(usages).toHaveLength(1);
    expect(usages[0]).toMatchObject({ prompt_tokens: 9, completion_tokens: 30, total_tokens: 39 });
    // Interleaved, not one choice after the other.
    expect(indexOrder.slice(0, 4)).toEqual([0, 1, 0, 1]);
  });

  it('frames the stream as data: lines ending in [DONE] with SSE headers (raw HTTP)', async () => {
    const res = await postRaw('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await res.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = parseSse(body);
    expect(events.every((e) => e.event === null)).toBe(true);
    expect(events.slice(0, -1).every((e) => JSON.parse(e.data).object === 'chat.completion.chunk')).toBe(true);
  });
});

describe('OpenAI legacy completions', () => {
  it('answers non-streaming requests', async () => {
    fake.queue({ text: ' world', usage: { input: 3, output: 2 } });
    const res = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'hello' });
    expect(res.object).toBe('text_completion');
    expect(res.id).toMatch(/^cmpl-/);
    expect(res.choices).toEqual([{ text: ' world', index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(res.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });

  it('streams text chunks, finish_reason on the last one, then usage when include_usage is asked', async () => {
    fake.queue({ chunks: ['Once', ' upon', ' a time'], usage: { input: 4, output: 3 } });
    const stream = await openai.completions.create({
      model: 'davinci-002',
      prompt: 'story',
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.object === 'text_completion' && c.model === 'davinci-002')).toBe(true);
    expect(chunks.slice(0, 3).map((c) => c.choices[0]!.text)).toEqual(['Once', ' upon', ' a time']);
    expect(chunks.slice(0, 3).map((c) => c.choices[0]!.finish_reason)).toEqual([null, null, 'stop']);
    expect(chunks.slice(0, 3).every((c) => c.usage === null)).toBe(true);
    expect(chunks[3]!.choices).toEqual([]);
    expect(chunks[3]!.usage).toEqual({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it('streams no usage chunk when include_usage is not asked, and honours n', async () => {
    fake.queue({ text: ['a b', 'c d'] });
    const stream = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'x', n: 2, stream: true });
    const text: Record<number, string> = { 0: '', 1: '' };
    let usageChunks = 0;
    for await (const chunk of stream) {
      if ('usage' in chunk) usageChunks++;
      for (const c of chunk.choices) text[c.index] += c.text;
    }
    expect(text).toEqual({ 0: 'a b', 1: 'c d' });
    expect(usageChunks).toBe(0);
  });
});

describe('OpenAI Responses API', () => {
  it('answers non-streaming requests with the full response object', async () => {
    fake.queue({ text: 'Paris.', usage: { input: 50, output: 30, cached: 20, reasoning: 10 } });
    const res = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Capital of France?' });
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.id).toMatch(/^resp_/);
    expect(res.output_text).toBe('Paris.'); // computed by the SDK from `output`
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Paris.', annotations: [] }],
    });
    expect(res.usage).toEqual({
      input_tokens: 50,
      input_tokens_details: { cached_tokens: 20 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 10 },
      total_tokens: 80,
    });
  });

  it('streams the documented event sequence, ending with response.completed carrying usage', async () => {
    fake.queue({ chunks: ['Bon', 'jour', '!'], usage: { input: 12, output: 3 } });
    const stream = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);

    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.join('')).toBe('Bonjour!');

    const created = events[0]!;
    expect(created.type === 'response.created' && created.response.usage).toBeNull();
    const completed = events.at(-1)!;
    if (completed.type !== 'response.completed') throw new Error('expected response.completed');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.usage).toMatchObject({ input_tokens: 12, output_tokens: 3, total_tokens: 15 });
    expect(completed.response.output[0]).toMatchObject({ content: [{ type: 'output_text', text: 'Bonjour!' }] });
  });

  it('sends event: lines naming each event type (raw HTTP)', async () => {
    const res = await postRaw('/v1/responses', { model: 'gpt-4o-mini', input: 'hi', stream: true });
    const events = parseSse(await res.text());
    expect(events.length).toBeGreaterThan(5);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
  });
});

describe('OpenAI embeddings', () => {
  it("works with the SDK's default base64 encoding and with plain floats", async () => {
    fake.queue({ usage: { input: 6 } }, { usage: { input: 6 } });
    const viaBase64 = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(fake.requests[0]!.body.encoding_format).toBe('base64');
    const viaFloat = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
    });

    for (const res of [viaBase64, viaFloat]) {
      expect(res.object).toBe('list');
      expect(res.data.map((d) => d.index)).toEqual([0, 1]);
      expect(res.data[0]!.embedding).toHaveLength(8);
      expect(res.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
    }
    // Both encodings carry the same float32 vectors.
    expect(viaBase64.data[1]!.embedding).toEqual(viaFloat.data[1]!.embedding);
  });
});

describe('Anthropic Messages', () => {
  it('maps cache reads and writes onto the non-streaming usage block', async () => {
    fake.queue({
      text: 'Bonjour',
      usage: { input: 1000, output: 50, cached: 600, cacheWrite: 300, cacheWrite1h: 100 },
    });
    const { data: msg, request_id } = await anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    expect(msg.type).toBe('message');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.model).toBe('claude-sonnet-4-5');
    expect(msg.content).toEqual([{ type: 'text', text: 'Bonjour' }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.stop_sequence).toBeNull();
    expect(msg.usage).toMatchObject({
      input_tokens: 100, // 1000 - 600 read - 300 written: Anthropic's input excludes the cache
      output_tokens: 50,
      cache_read_input_tokens: 600,
      cache_creation_input_tokens: 300,
      cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 100 },
    });
    expect(request_id).toMatch(/^req_/);

    const rec = fake.requests[0]!;
    expect(rec.path).toBe('/v1/messages');
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token (0.x sent x-api-key).
    expect(rec.headers['authorization']).toBe('Bearer sk-ant-test');
    expect(rec.headers['anthropic-version']).toBeDefined();
  });

  it('streams message_start with output_tokens 1 and a message_delta with the final total', async () => {
    fake.queue({ chunks: ['Hel', 'lo', ' world'], usage: { input: 30, output: 25, cached: 10 } });
    const stream = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const events = [];
    for await (const event of stream) events.push(event);

    // The SDK drops `ping`; everything else arrives in order.
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0]!;
    if (start.type !== 'message_start') throw new Error('expected message_start');
    expect(start.message.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 1 });
    const text = events.flatMap((e) =>
      e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : [],
    );
    expect(text.join('')).toBe('Hello world');
    const delta = events[6]!;
    if (delta.type !== 'message_delta') throw new Error('expected message_delta');
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBe(25);
  });

  it("gives the SDK's message stream the right final usage", async () => {
    fake.queue({ usage: { input: 40, output: 16, cacheWrite: 8 } });
    const final = await anthropic.messages
      .stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(final.content).toMatchObject([{ type: 'text', text: DEFAULT_TEXT }]);
    expect(final.usage).toMatchObject({ input_tokens: 32, cache_creation_input_tokens: 8, output_tokens: 16 });
  });

  it('can send only output_tokens in message_delta, as older API versions do (raw HTTP)', async () => {
    fake.queue({ anthropicDeltaUsage: 'output', usage: { input: 5, output: 9 } });
    const res = await postRaw(
      '/v1/messages',
      { model: 'claude-haiku-4-5', stream: true, max_tokens: 10, messages: [] },
      { 'X-Api-Key': 'sk-ant-raw', 'anthropic-version': '2023-06-01' },
    );
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(fake.requests[0]!.headers['x-api-key']).toBe('sk-ant-raw');
    const events = parseSse(await res.text());
    // Every Anthropic event names itself on an event: line, ping included.
    expect(events.map((e) => e.event)).toContain('ping');
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const delta = events.find((e) => e.event === 'message_delta')!;
    expect(JSON.parse(delta.data).usage).toEqual({ output_tokens: 9 });
  });
});

describe('faults', () => {
  it('surfaces a 401 as the OpenAI AuthenticationError', async () => {
    fake.queue({ status: 401, errorMessage: 'Incorrect API key provided' });
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiErr = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(apiErr.status).toBe(401);
    expect(apiErr.message).toContain('Incorrect API key provided');
    expect(apiErr.code).toBe('invalid_api_key');
    expect(apiErr.type).toBe('invalid_request_error');
    expect(apiErr.requestID).toMatch(/^req_/);
    expect(fake.requests).toHaveLength(1); // 401 is not retried
  });

  it('surfaces a 401 as the Anthropic AuthenticationError', async () => {
    fake.queue({ status: 401 });
    const err = await anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    const apiErr = err as InstanceType<typeof Anthropic.AuthenticationError>;
    expect(apiErr.status).toBe(401);
    expect(apiErr.type).toBe('authentication_error');
  });

  it('lets the OpenAI SDK retry a 429 and succeed', async () => {
    fake.queue({ status: 429, headers: { 'retry-after-ms': '1' } }, { text: 'second time lucky' });
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(res.choices[0]!.message.content).toBe('second time lucky');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('lets the Anthropic SDK retry a 429 and succeed', async () => {
    // Anthropic's SDK ignores a zero wait (it falls back to its ~0.5 s backoff), so ask for 1 ms.
    fake.queue({ status: 429, headers: { 'retry-after-ms': '1' } }, { text: 'ok now' });
    const msg = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(msg.content).toEqual([{ type: 'text', text: 'ok now' }]);
    expect(fake.requests).toHaveLength(2);
  });

  it('cutAfter drops an OpenAI stream mid-way: partial content, no finish, no usage', async () => {
    fake.queue({ chunks: ['a', 'b', 'c', 'd', 'e'], cutAfter: 3 });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    let sawFinish = false;
    let sawUsage = false;
    let error: unknown;
    try {
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) sawFinish = true;
        if (chunk.usage) sawUsage = true;
      }
    } catch (e) {
      error = e;
    }
    expect(text).toBe('abc');
    expect(sawFinish).toBe(false);
    expect(sawUsage).toBe(false);
    expect(error).toBeDefined();
  });

  it('cutAfter drops an Anthropic stream before message_delta', async () => {
    fake.queue({ chunks: ['x', 'y', 'z'], cutAfter: 2 });
    const stream = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 5,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const types: string[] = [];
    await expect(
      (async () => {
        for await (const event of stream) types.push(event.type);
      })(),
    ).rejects.toThrow();
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
  });

  it('errorEvent makes the Anthropic SDK throw mid-stream after some content', async () => {
    fake.queue({ chunks: ['one', ' two', ' three', ' four'], errorEvent: true });
    const stream = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    let error: unknown;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
    } catch (e) {
      error = e;
    }
    expect(text).toBe('one two');
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    expect((error as Error).message).toContain('Overloaded');
  });

  it('errorEvent makes the OpenAI SDK throw mid-stream', async () => {
    fake.queue({ chunks: ['p', 'q', 'r'], errorEvent: 1 });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    const run = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(run()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe('p');
  });

  it('answers unknown routes with a 404 in the OpenAI error format without consuming the queue', async () => {
    fake.queue({ text: 'kept for the next call' });
    const res = await postRaw('/v1/does-not-exist', {});
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: 'Invalid URL (POST /v1/does-not-exist)', type: 'invalid_request_error', param: null, code: null },
    });
    const next = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(next.choices[0]!.message.content).toBe('kept for the next call');
  });

  it('keeps serving after a client abandons a stream', async () => {
    fake.queue({ repeatChunks: 50_000 });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [] });
    let n = 0;
    for await (const _ of stream) if (++n === 10) break;
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(res.choices[0]!.message.content).toBe(DEFAULT_TEXT);
  });
});

describe('Azure OpenAI (fake-azure.mjs)', () => {
  const AZURE_KEY = 'azure-test-key-0123456789';
  let azureFake: FakeProvider;
  beforeAll(async () => {
    azureFake = await startFakeProvider({ azureKeys: { apiKey: AZURE_KEY, adToken: 'entra-token' } });
  });
  afterAll(() => azureFake.close());
  const azure = (token?: string) =>
    new AzureOpenAI({ endpoint: azureFake.url, apiVersion: '2024-10-21', maxRetries: 0, ...(token ? { azureADTokenProvider: async () => token } : { apiKey: AZURE_KEY }) });
  const raw = (path: string, headers: Record<string, string> = { 'api-key': AZURE_KEY }, body: unknown = { messages: [] }) =>
    fetch(azureFake.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('answers AzureOpenAI with the model behind the deployment, and Azure\'s prompt_filter_results', async () => {
    const reply = await azure().chat.completions.create({ model: 'my-deployment', messages: [{ role: 'user', content: 'x' }] });
    expect(reply.model).toBe('gpt-4o-2024-08-06');
    expect(reply.choices[0]?.message.content).toBe(DEFAULT_TEXT);
    expect((reply as unknown as { prompt_filter_results: unknown[] }).prompt_filter_results).toHaveLength(1);
    expect(reply.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 16 });
    const [req] = azureFake.requests.slice(-1);
    expect(req).toMatchObject({ path: '/openai/deployments/my-deployment/chat/completions', url: '/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21' });
    expect(req?.headers['api-key']).toBe(AZURE_KEY);
  });

  it('opens a stream with a chunk of no choices, model "" and no usage; usage comes last when asked', async () => {
    const stream = await azure('entra-token').chat.completions.create({ model: 'd', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]).toMatchObject({ choices: [], model: '', id: '' });
    expect(chunks[0]?.usage).toBeUndefined();
    expect(chunks.at(-1)).toMatchObject({ choices: [], model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 11, completion_tokens: 16 } });
    expect(azureFake.requests.at(-1)?.headers.authorization).toBe('Bearer entra-token');
  });

  it('legacy completions and embeddings, and the /openai/v1 form with the deployment as the body\'s model', async () => {
    const completion = await azure().completions.create({ model: 'inst', prompt: 'x' });
    expect(completion.model).toBe('gpt-35-turbo-instruct');
    const embedding = await azure().embeddings.create({ model: 'emb', input: 'x' });
    expect(embedding.model).toBe('text-embedding-3-small');
    const v1 = new OpenAI({ apiKey: AZURE_KEY, baseURL: `${azureFake.url}/openai/v1`, maxRetries: 0 });
    expect((await v1.chat.completions.create({ model: 'd', messages: [] })).model).toBe('gpt-4o-2024-08-06');
    expect(azureFake.requests.slice(-3).map((r) => r.url)).toEqual(['/openai/deployments/inst/completions?api-version=2024-10-21', '/openai/deployments/emb/embeddings?api-version=2024-10-21', '/openai/v1/chat/completions']);
  });

  it('answers as Azure does: no api-version 404, a bad one 400, a wrong key 401, a reply status in Azure\'s shape', async () => {
    const missing = await raw('/openai/deployments/d/chat/completions');
    expect([missing.status, await missing.json()]).toEqual([404, { error: { code: '404', message: 'Resource not found' } }]);
    const bad = await raw('/openai/deployments/d/chat/completions?api-version=someday');
    expect([bad.status, await bad.json()]).toEqual([400, { error: { code: 'BadRequest', message: 'API version not supported' } }]);
    const wrong = await raw('/openai/deployments/d/chat/completions?api-version=2024-10-21', { 'api-key': 'nope' });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('401');
    expect((await raw('/openai/deployments/d/chat/completions?api-version=2024-10-21', {})).status).toBe(401);
    azureFake.queue({ status: 404 });
    const notFound = await raw('/openai/deployments/d/chat/completions?api-version=2024-10-21');
    expect([notFound.status, (await notFound.json()).error.code]).toEqual([404, 'DeploymentNotFound']);
    expect(notFound.headers.get('apim-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('queue, defaults and reset', () => {
  it('uses queued replies in order, then the default, and reset restores the built-in default', async () => {
    fake.setDefault({ text: 'default' });
    fake.queue({ text: 'one' }, { text: 'two' });
    const ask = async () =>
      (await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).choices[0]!.message
        .content;
    expect([await ask(), await ask(), await ask()]).toEqual(['one', 'two', 'default']);
    expect(fake.requests).toHaveLength(3);

    fake.queue({ text: 'never used' });
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    expect(await ask()).toBe(DEFAULT_TEXT);
  });
});

describe('benchmark-sized streams', () => {
  it('streams 50,000 chunks through the SDK', async () => {
    fake.queue({ repeatChunks: 50_000, chunks: ['ab', 'cd'], usage: { input: 5, output: 50_000 } });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'x' }],
    });
    let contentChunks = 0;
    let chars = 0;
    let usage;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) {
        contentChunks++;
        chars += content.length;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(contentChunks).toBe(50_000);
    expect(chars).toBe(100_000);
    expect(usage).toMatchObject({ completion_tokens: 50_000 });
  });

  it('streams 50,000 Anthropic deltas', async () => {
    fake.queue({ repeatChunks: 50_000 });
    const stream = await anthropic.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let deltas = 0;
    let stopped = false;
    for await (const event of stream) {
      if (event.type === 'content_block_delta') deltas++;
      if (event.type === 'message_stop') stopped = true;
    }
    expect(deltas).toBe(50_000);
    expect(stopped).toBe(true);
  });
});

describe('command line', () => {
  it('prints its URL as one JSON line and serves the default reply until killed', async () => {
    const cli = fileURLToPath(new URL('./support/fake-provider-cli.mjs', import.meta.url));
    const child = spawn(process.execPath, [cli, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout! });
      const [firstLine] = (await once(lines, 'line')) as [string];
      const { url } = JSON.parse(firstLine) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const client = new OpenAI({ apiKey: 'sk-test', baseURL: url + '/v1', maxRetries: 0 });
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      expect(res.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

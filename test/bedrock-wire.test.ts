// The Bedrock wire readers, fed raw bytes: event-stream frames built with @smithy/eventstream-codec
// (the encoder AWS's own SDK uses), split at every byte offset, corrupted and cut short.

import { EventStreamCodec } from '@smithy/eventstream-codec';
import { describe, expect, it } from 'vitest';
import { bedrockConverseUsage, bedrockInvocationUsage } from '../src/normalise.js';
import { bedrockBodyOutcome, bedrockStreamMeter, bedrockTargetOf, EventStreamReader, type StreamMessage } from '../src/wire/bedrock.js';
import type { BodyEnd } from '../src/wire/read.js';

const codec = new EventStreamCodec(
  (b) => new TextDecoder().decode(b),
  (s) => new TextEncoder().encode(s),
);

function frame(eventType: string, payload: unknown, messageType = 'event'): Buffer {
  const typeHeader = messageType === 'exception' ? ':exception-type' : ':event-type';
  const bytes = codec.encode({
    headers: {
      [typeHeader]: { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    body: new TextEncoder().encode(JSON.stringify(payload)),
  });
  return Buffer.from(bytes);
}

/** An InvokeModelWithResponseStream chunk: the Anthropic event, base64 in `bytes`. */
function chunk(event: unknown): Buffer {
  return frame('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcd' });
}

/** Claude's stream on Bedrock: 13 input (plus cache), 35 output, as in the seed. */
function claudeStream(opts: { deltaUsage?: object | null; metrics?: object | null; cacheRead?: number; cacheWrite?: number } = {}): Buffer[] {
  const start = { input_tokens: 13, output_tokens: 1, cache_read_input_tokens: opts.cacheRead ?? 0, cache_creation_input_tokens: opts.cacheWrite ?? 0 };
  const stop: Record<string, unknown> = { type: 'message_stop' };
  if (opts.metrics !== null) stop['amazon-bedrock-invocationMetrics'] = opts.metrics ?? { inputTokenCount: 13, outputTokenCount: 35, invocationLatency: 900, firstByteLatency: 300 };
  return [
    chunk({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-2.0', content: [], usage: start } }),
    chunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Why did' } }),
    chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' the chicken' } }),
    chunk({ type: 'content_block_stop', index: 0 }),
    chunk({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, ...(opts.deltaUsage !== null && { usage: opts.deltaUsage ?? { output_tokens: 35 } }) }),
    chunk(stop),
  ];
}

function converseStream(usage: object | null = { inputTokens: 13, outputTokens: 35, totalTokens: 48 }): Buffer[] {
  return [
    frame('messageStart', { role: 'assistant', p: 'ab' }),
    frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello' }, p: 'abc' }),
    frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: ' there' }, p: 'abc' }),
    frame('contentBlockStop', { contentBlockIndex: 0, p: 'a' }),
    frame('messageStop', { stopReason: 'end_turn', p: 'ab' }),
    frame('metadata', { ...(usage && { usage }), metrics: { latencyMs: 400 }, p: 'abcdef' }),
  ];
}

async function meter(operation: 'invoke-with-response-stream' | 'converse-stream', chunks: Uint8Array[], end: BodyEnd = 'complete') {
  const m = bedrockStreamMeter(operation);
  for (const c of chunks) m.push(c);
  return m.outcome(end);
}

describe('bedrockTargetOf', () => {
  it('reads the operation and the decoded model id, ARNs included', () => {
    expect(bedrockTargetOf('/model/anthropic.claude-v2/invoke')).toEqual({ operation: 'invoke', modelId: 'anthropic.claude-v2', stream: false, api: 'messages' });
    expect(bedrockTargetOf('/model/anthropic.claude-v2%3A1/invoke-with-response-stream')).toMatchObject({ modelId: 'anthropic.claude-v2:1', stream: true, api: 'messages' });
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-8b-instruct-v1:0';
    expect(bedrockTargetOf(`/prefix/model/${encodeURIComponent(arn)}/converse-stream`)).toEqual({ operation: 'converse-stream', modelId: arn, stream: true, api: 'converse' });
    expect(bedrockTargetOf('/model/amazon.nova-pro-v1%3A0/converse?x=1')).toMatchObject({ operation: 'converse', modelId: 'amazon.nova-pro-v1:0' });
  });

  it('is null for other paths and bad encodings', () => {
    expect(bedrockTargetOf('/v1/messages')).toBeNull();
    expect(bedrockTargetOf('/model/x/count-tokens')).toBeNull();
    expect(bedrockTargetOf('/model/%E0%A4%A/invoke')).toBeNull();
  });
});

describe('Bedrock usage normalisation', () => {
  it('Converse: inputTokens leave out cache reads and writes, which are added', () => {
    expect(bedrockConverseUsage({ inputTokens: 11, outputTokens: 280, totalTokens: 2073, cacheReadInputTokens: 1782, cacheWriteInputTokens: 0 })).toMatchObject({
      input_tokens: 1793,
      output_tokens: 280,
      total_tokens: 2073,
      input_token_details: { cache_read: 1782, cache_creation: 0 },
    });
    expect(bedrockConverseUsage({ inputTokens: 5, outputTokens: 7, cacheWriteInputTokens: 100 })).toMatchObject({ input_tokens: 105, input_token_details: { cache_creation: 100 } });
    expect(bedrockConverseUsage({ latencyMs: 3 })).toBeNull();
    expect(bedrockConverseUsage(null)).toBeNull();
  });

  it('invocation counts come as header strings or numbers; junk is ignored', () => {
    expect(bedrockInvocationUsage({ input: '13', output: '35' })).toMatchObject({ input_tokens: 13, output_tokens: 35, total_tokens: 48 });
    expect(bedrockInvocationUsage({ input: 13, output: 35, cacheRead: 100 })).toMatchObject({ input_tokens: 113, input_token_details: { cache_read: 100 } });
    expect(bedrockInvocationUsage({ input: 'x', output: '-1' })).toBeNull();
  });
});

describe('bedrockBodyOutcome', () => {
  it('InvokeModel: the Anthropic usage, cache reads and writes on top of input', () => {
    const body = JSON.stringify({ model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 500, output_tokens: 100 } });
    const o = bedrockBodyOutcome('invoke', 200, { 'x-amzn-bedrock-input-token-count': '20', 'x-amzn-bedrock-output-token-count': '100' }, body, 'complete');
    expect(o.failure).toBeUndefined();
    expect(o.model).toBe('claude-3-5-haiku-20241022');
    expect(o.text).toEqual(['hi']);
    expect(o.usage).toMatchObject({ input_tokens: 1520, output_tokens: 100, input_token_details: { cache_read: 1000, cache_creation: 500 } });
  });

  it('InvokeModel without usage in the body falls back to the token count headers (any vendor)', () => {
    const headers = new Headers({ 'x-amzn-bedrock-input-token-count': '13', 'x-amzn-bedrock-output-token-count': '35' });
    const o = bedrockBodyOutcome('invoke', 200, headers, Buffer.from(JSON.stringify({ generation: 'Why did', stop_reason: 'stop' })), 'complete');
    expect(o.usage).toMatchObject({ input_tokens: 13, output_tokens: 35 });
    const none = bedrockBodyOutcome('invoke', 200, {}, JSON.stringify({ generation: 'Why did the chicken' }), 'complete');
    expect(none.usage).toBeNull();
    expect(none.text).toEqual(['Why did the chicken']);
  });

  it('Converse: usage and text', () => {
    const body = { output: { message: { role: 'assistant', content: [{ text: 'Hello' }] } }, stopReason: 'end_turn', usage: { inputTokens: 4, outputTokens: 6, totalTokens: 60, cacheReadInputTokens: 50 }, metrics: { latencyMs: 3 } };
    const o = bedrockBodyOutcome('converse', 200, {}, JSON.stringify(body), 'complete');
    expect(o).toMatchObject({ text: ['Hello'], model: null, usage: { input_tokens: 54, output_tokens: 6, input_token_details: { cache_read: 50 } } });
  });

  it("AWS's errors: the type from x-amzn-errortype, the message from the body", () => {
    const o = bedrockBodyOutcome('converse', 429, { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' }, '{"message":"Too many requests, please wait before trying again."}', 'complete');
    expect(o.failure).toEqual({ kind: 'http', status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' });
    const v = bedrockBodyOutcome('invoke', 400, {}, '{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}', 'complete');
    expect(v.failure).toMatchObject({ status: 400, type: 'ValidationException', message: 'bad' });
    expect(bedrockBodyOutcome('invoke', 502, {}, '<html><body>Bad gateway</body></html>', 'complete').failure?.message).toBe('Bad gateway');
  });
});

describe('the invoke stream (InvokeModelWithResponseStream)', () => {
  it('usage is cumulative: message_delta replaces message_start (35, not 36)', async () => {
    const o = await meter('invoke-with-response-stream', claudeStream({ metrics: null }));
    expect(o.failure).toBeUndefined();
    expect(o.model).toBe('claude-2.0');
    expect(o.usage).toMatchObject({ input_tokens: 13, output_tokens: 35, total_tokens: 48 });
    // The current API repeats every cumulative count in message_delta: still replaced, not added.
    const full = await meter('invoke-with-response-stream', claudeStream({ deltaUsage: { input_tokens: 13, output_tokens: 35, cache_read_input_tokens: 7 }, metrics: null, cacheRead: 7 }));
    expect(full.usage).toMatchObject({ input_tokens: 20, output_tokens: 35, input_token_details: { cache_read: 7 } });
  });

  it("the last chunk's invocationMetrics stand in when the events carry no final usage", async () => {
    const o = await meter('invoke-with-response-stream', claudeStream({ deltaUsage: null, metrics: { inputTokenCount: 13, outputTokenCount: 35, cacheReadInputTokenCount: 100, invocationLatency: 1, firstByteLatency: 1 } }));
    expect(o.usage).toMatchObject({ input_tokens: 113, output_tokens: 35, input_token_details: { cache_read: 100 } });
    expect(o.partialUsage).toBeUndefined();
  });

  it("another vendor's stream: text from its chunks, usage from invocationMetrics", async () => {
    const frames = [
      chunk({ generation: 'Hi', prompt_token_count: 9, generation_token_count: 1, stop_reason: null }),
      chunk({ generation: ' there', prompt_token_count: null, generation_token_count: 2, stop_reason: 'stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 9, outputTokenCount: 2, invocationLatency: 5, firstByteLatency: 2 } }),
    ];
    const o = await meter('invoke-with-response-stream', frames);
    expect(o).toMatchObject({ text: ['Hi there'], usage: { input_tokens: 9, output_tokens: 2 } });
    expect(o.failure).toBeUndefined();
    const cut = await meter('invoke-with-response-stream', frames.slice(0, 1), 'cut');
    expect(cut.usage).toBeNull();
    expect(cut.failure?.kind).toBe('stream-cut');
  });

  it('gives the same outcome whatever the chunking: split at every byte offset, and byte by byte', async () => {
    const whole = Buffer.concat(claudeStream());
    const expected = await meter('invoke-with-response-stream', [whole]);
    expect(expected.usage).toMatchObject({ input_tokens: 13, output_tokens: 35 });
    expect(expected.text).toEqual(['Why did the chicken']);
    for (let at = 1; at < whole.length; at++) {
      const o = await meter('invoke-with-response-stream', [whole.subarray(0, at), whole.subarray(at)]);
      expect(o, `split at ${at}`).toEqual(expected);
    }
    const bytes = [...whole].map((b) => Uint8Array.of(b));
    expect(await meter('invoke-with-response-stream', bytes)).toEqual(expected);
  });

  it('a stream cut inside a frame keeps the reported input and the text, and fails as cut', async () => {
    const frames = claudeStream();
    const bytes = Buffer.concat(frames.slice(0, 4));
    const partial = Buffer.concat([bytes, (frames[4] as Buffer).subarray(0, 10)]);
    const o = await meter('invoke-with-response-stream', [partial], 'cut');
    expect(o.usage).toBeNull();
    expect(o.partialUsage).toMatchObject({ input_tokens: 13 });
    expect(o.text).toEqual(['Why did the chicken']);
    expect(o.failure).toMatchObject({ kind: 'stream-cut' });
    // The body "ended" cleanly but inside a frame, before message_stop: still a cut stream.
    expect((await meter('invoke-with-response-stream', [partial], 'complete')).failure).toMatchObject({ kind: 'stream-cut', message: 'stream ended before message_stop' });
  });

  it('an exception frame is a stream error with its type; what came before it stays', async () => {
    const frames = [...claudeStream().slice(0, 3), frame('modelStreamErrorException', { message: 'The model stream failed.' }, 'exception')];
    const o = await meter('invoke-with-response-stream', frames);
    expect(o.failure).toEqual({ kind: 'stream-error', type: 'ModelStreamErrorException', message: 'The model stream failed.' });
    expect(o.text).toEqual(['Why did']);
    expect(o.partialUsage).toMatchObject({ input_tokens: 13 });
  });

  it('a frame whose CRC does not match is a malformed stream, and nothing after it is read', async () => {
    const frames = claudeStream();
    const bad = Buffer.from(frames[2] as Buffer);
    bad[bad.length - 6] = (bad[bad.length - 6] as number) ^ 0xff;
    const o = await meter('invoke-with-response-stream', [frames[0] as Buffer, frames[1] as Buffer, bad, ...frames.slice(3)]);
    expect(o.failure?.kind).toBe('stream-error');
    expect(o.failure?.message).toMatch(/malformed event stream: .*checksum/i);
    expect(o.usage).toBeNull();
  });
});

describe('the Converse stream', () => {
  it('usage from the metadata event, cache reads and writes added to input', async () => {
    const o = await meter('converse-stream', converseStream({ inputTokens: 13, outputTokens: 35, totalTokens: 1148, cacheReadInputTokens: 1000, cacheWriteInputTokens: 100 }));
    expect(o.failure).toBeUndefined();
    expect(o.text).toEqual(['Hello there']);
    expect(o.usage).toMatchObject({ input_tokens: 1113, output_tokens: 35, total_tokens: 1148, input_token_details: { cache_read: 1000, cache_creation: 100 } });
  });

  it('the same outcome split at every byte offset', async () => {
    const whole = Buffer.concat(converseStream());
    const expected = await meter('converse-stream', [whole]);
    expect(expected.usage).toMatchObject({ input_tokens: 13, output_tokens: 35 });
    for (let at = 1; at < whole.length; at++) {
      expect(await meter('converse-stream', [whole.subarray(0, at), whole.subarray(at)]), `split at ${at}`).toEqual(expected);
    }
  });

  it('a stream without its metadata event is cut: text kept, no usage', async () => {
    const o = await meter('converse-stream', converseStream().slice(0, 5), 'cut');
    expect(o).toMatchObject({ text: ['Hello there'], usage: null, failure: { kind: 'stream-cut' } });
    const ended = await meter('converse-stream', converseStream().slice(0, 5));
    expect(ended.failure?.message).toBe('stream ended before the metadata event');
  });

  it('a throttling exception mid-stream', async () => {
    const o = await meter('converse-stream', [...converseStream().slice(0, 2), frame('throttlingException', { message: 'slow down' }, 'exception')]);
    expect(o.failure).toEqual({ kind: 'stream-error', type: 'ThrottlingException', message: 'slow down' });
    expect(o.text).toEqual(['Hello']);
  });
});

describe('EventStreamReader', () => {
  it('calls back once per whole frame, in order, across pushes of any size', async () => {
    const seen: StreamMessage[] = [];
    const reader = new EventStreamReader((m) => seen.push(m));
    const whole = Buffer.concat(converseStream());
    for (let i = 0; i < whole.length; i += 7) reader.push(whole.subarray(i, i + 7));
    expect(await reader.done()).toBeNull();
    expect(seen.map((m) => m.type)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(JSON.parse(seen[1]?.payload.toString() ?? '')).toMatchObject({ delta: { text: 'Hello' } });
  });

  it('says why when the bytes end inside a frame', async () => {
    const reader = new EventStreamReader(() => {});
    reader.push((converseStream()[0] as Buffer).subarray(0, 5));
    expect(await reader.done()).toMatch(/truncated/i);
  });
});

// Every Bedrock usage shape against the price it must produce, computed here by hand from
// pricing.json's own figures (never typed in): the wire readers' usage, priced by recordOf as
// `run` and the proxy price it.

import { readFileSync } from 'node:fs';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { describe, expect, it } from 'vitest';
import { loadPriceTable } from '../src/pricing/table.js';
import type { CallOutcome, CallSpec } from '../src/providers/types.js';
import { recordOf } from '../src/record.js';
import { bedrockBodyOutcome, bedrockStreamMeter } from '../src/wire/bedrock.js';

const table = loadPriceTable();
const raw = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8')) as {
  providers: { id: string; models: { id: string; prices: Record<string, number> }[] }[];
};

/** A model's figures per 1M tokens, straight from pricing.json's aws provider. */
function awsPrices(id: string): Record<string, number> {
  const model = raw.providers.find((p) => p.id === 'aws')?.models.find((m) => m.id === id);
  if (!model) throw new Error(`pricing.json has no aws model ${id}`);
  return model.prices;
}

function spec(model: string, api: 'messages' | 'converse', stream = false): CallSpec {
  return { provider: 'bedrock', api, model, prompt: 'hi', stream, streamUsage: false, apiKey: '' };
}

async function priced(s: CallSpec, outcome: CallOutcome) {
  expect(outcome.failure).toBeUndefined();
  return recordOf(s, { ...outcome, model: s.model }, 0, table);
}

const codec = new EventStreamCodec(
  (b) => new TextDecoder().decode(b),
  (t) => new TextEncoder().encode(t),
);
function frame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: { ':event-type': { type: 'string', value: eventType }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } },
    body: new TextEncoder().encode(JSON.stringify(payload)),
  });
}
const chunk = (event: unknown) => frame('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64') });

describe('Bedrock usage priced exactly', () => {
  // Anthropic on Bedrock: input_tokens 20 uncached, 1000 cache reads and 500 cache writes on top, 100 output.
  const uncached = 20;
  const reads = 1000;
  const writes = 500;
  const output = 100;

  it('Claude through InvokeModel, with cache reads and writes (body and stream alike)', async () => {
    const model = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
    const p = awsPrices('regional.anthropic.claude-3-5-haiku-20241022-v1:0');
    const byHand = (uncached * (p['input_mtok'] as number) + reads * (p['cache_read_mtok'] as number) + writes * (p['cache_write_mtok'] as number) + output * (p['output_mtok'] as number)) / 1e6;
    expect(byHand).toBeGreaterThan(0);

    const usage = { input_tokens: uncached, cache_read_input_tokens: reads, cache_creation_input_tokens: writes, output_tokens: output };
    const body = bedrockBodyOutcome('invoke', 200, {}, JSON.stringify({ model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'x' }], usage }), 'complete');
    const record = await priced(spec(model, 'messages'), body);
    expect(record.priced_as).toBe('aws/regional.anthropic.claude-3-5-haiku-20241022-v1:0');
    expect(record.usage).toMatchObject({ input_tokens: uncached + reads + writes, output_tokens: output, input_token_details: { cache_read: reads, cache_creation: writes } });
    expect(record.cost_usd).toBeCloseTo(byHand, 12);

    const meter = bedrockStreamMeter('invoke-with-response-stream');
    meter.push(chunk({ type: 'message_start', message: { model: 'claude-3-5-haiku-20241022', usage: { ...usage, output_tokens: 1 } } }));
    meter.push(chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }));
    meter.push(chunk({ type: 'message_delta', delta: {}, usage: { output_tokens: output } }));
    meter.push(chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: uncached, outputTokenCount: output } }));
    const streamed = await priced(spec(model, 'messages', true), await meter.outcome('complete'));
    expect(streamed.cost_usd).toBeCloseTo(byHand, 12);
  });

  it('Converse, with cache reads and writes (body and stream alike)', async () => {
    const model = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
    const p = awsPrices(model);
    const byHand = (uncached * (p['input_mtok'] as number) + reads * (p['cache_read_mtok'] as number) + writes * (p['cache_write_mtok'] as number) + output * (p['output_mtok'] as number)) / 1e6;

    // Converse's inputTokens leave out the cache reads and writes, as Anthropic's input_tokens do.
    const usage = { inputTokens: uncached, outputTokens: output, totalTokens: uncached + reads + writes + output, cacheReadInputTokens: reads, cacheWriteInputTokens: writes };
    const body = bedrockBodyOutcome('converse', 200, {}, JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason: 'end_turn', usage }), 'complete');
    const record = await priced(spec(model, 'converse'), body);
    expect(record.priced_as).toBe(`aws/${model}`);
    expect(record.usage).toMatchObject({ input_tokens: uncached + reads + writes, total_tokens: usage.totalTokens, input_token_details: { cache_read: reads, cache_creation: writes } });
    expect(record.cost_usd).toBeCloseTo(byHand, 12);

    const meter = bedrockStreamMeter('converse-stream');
    for (const f of [frame('messageStart', { role: 'assistant' }), frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } }), frame('messageStop', { stopReason: 'end_turn' }), frame('metadata', { usage, metrics: { latencyMs: 1 } })]) meter.push(f);
    const streamed = await priced(spec(model, 'converse', true), await meter.outcome('complete'));
    expect(streamed.cost_usd).toBeCloseTo(byHand, 12);
  });

  it('the seed: 13 + 35 tokens on anthropic.claude-v2, twice, is $0.001888 by pricing.json', async () => {
    const p = awsPrices('anthropic.claude-v2');
    const byHand = (2 * 13 * (p['input_mtok'] as number) + 2 * 35 * (p['output_mtok'] as number)) / 1e6;
    expect(byHand).toBeCloseTo(0.001888, 12);
    const body = bedrockBodyOutcome('invoke', 200, { 'x-amzn-bedrock-input-token-count': '13', 'x-amzn-bedrock-output-token-count': '35' }, '{"content":[]}', 'complete');
    const one = await priced(spec('anthropic.claude-v2', 'messages'), body);
    expect(2 * (one.cost_usd as number)).toBeCloseTo(byHand, 12);
  });
});

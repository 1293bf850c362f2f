import { describe, expect, it } from 'vitest';
import {
  anthropicCumulativeUsage,
  anthropicUsage,
  openAIChatUsage,
  openAIResponsesUsage,
  usageFromWire,
} from '../src/normalise.js';

describe('openAIChatUsage (chat and legacy completions)', () => {
  it('maps prompt/completion tokens and computes the total', () => {
    expect(openAIChatUsage({ prompt_tokens: 11, completion_tokens: 16, total_tokens: 27 })).toEqual({
      input_tokens: 11,
      output_tokens: 16,
      total_tokens: 27,
      input_token_details: { cache_read: 0, cache_creation: 0 },
      output_token_details: { reasoning: 0 },
    });
  });

  it('keeps cached tokens inside prompt_tokens and reasoning inside completion_tokens', () => {
    const usage = openAIChatUsage({
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0 },
    });
    expect(usage).toEqual({
      input_tokens: 2006,
      output_tokens: 300,
      total_tokens: 2306,
      input_token_details: { cache_read: 1920, cache_creation: 0 },
      output_token_details: { reasoning: 256 },
    });
  });

  it('reads the documented cache_write_tokens as a part of prompt_tokens', () => {
    const usage = openAIChatUsage({
      prompt_tokens: 3000,
      completion_tokens: 10,
      prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 1500 },
    });
    expect(usage?.input_tokens).toBe(3000);
    expect(usage?.input_token_details).toEqual({ cache_read: 1000, cache_creation: 1500 });
  });

  it('computes the total rather than trusting a wrong or missing one', () => {
    expect(openAIChatUsage({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 999 })?.total_tokens).toBe(12);
    expect(openAIChatUsage({ prompt_tokens: 5, completion_tokens: 7 })?.total_tokens).toBe(12);
  });

  it('tolerates null and missing nested fields', () => {
    const usage = openAIChatUsage({
      prompt_tokens: 4,
      completion_tokens: null,
      prompt_tokens_details: null,
      completion_tokens_details: { reasoning_tokens: null },
    });
    expect(usage).toEqual({
      input_tokens: 4,
      output_tokens: 0,
      total_tokens: 4,
      input_token_details: { cache_read: 0, cache_creation: 0 },
      output_token_details: { reasoning: 0 },
    });
  });

  it('returns null for no usage', () => {
    expect(openAIChatUsage(null)).toBeNull();
    expect(openAIChatUsage(undefined)).toBeNull();
    expect(openAIChatUsage({})).toBeNull();
    expect(openAIChatUsage('11')).toBeNull();
    expect(openAIChatUsage([])).toBeNull();
    expect(openAIChatUsage({ prompt_tokens: '11', completion_tokens: Number.NaN })).toBeNull();
  });
});

describe('openAIResponsesUsage', () => {
  it('keeps cached and reasoning tokens inside input and output', () => {
    const usage = openAIResponsesUsage({
      input_tokens: 1500,
      input_tokens_details: { cached_tokens: 1024 },
      output_tokens: 400,
      output_tokens_details: { reasoning_tokens: 320 },
      total_tokens: 1900,
    });
    expect(usage).toEqual({
      input_tokens: 1500,
      output_tokens: 400,
      total_tokens: 1900,
      input_token_details: { cache_read: 1024, cache_creation: 0 },
      output_token_details: { reasoning: 320 },
    });
  });

  it('reads input_tokens_details.cache_write_tokens as cache_creation, inside input', () => {
    const usage = openAIResponsesUsage({
      input_tokens: 2000,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 1800 },
      output_tokens: 5,
    });
    expect(usage?.input_tokens).toBe(2000);
    expect(usage?.input_token_details.cache_creation).toBe(1800);
  });

  it('tolerates missing details and returns null for no usage', () => {
    expect(openAIResponsesUsage({ input_tokens: 9, output_tokens: 3 })?.total_tokens).toBe(12);
    expect(openAIResponsesUsage({ input_tokens: 9, input_tokens_details: null, output_tokens_details: undefined })).toMatchObject({
      input_tokens: 9,
      output_tokens: 0,
      total_tokens: 9,
    });
    expect(openAIResponsesUsage(null)).toBeNull();
    expect(openAIResponsesUsage({ total_tokens: 12 })).toBeNull();
    // Chat-shaped usage is not Responses usage.
    expect(openAIResponsesUsage({ prompt_tokens: 1, completion_tokens: 1 })).toBeNull();
  });
});

describe('anthropicUsage', () => {
  it('maps plain input and output', () => {
    expect(anthropicUsage({ input_tokens: 11, output_tokens: 16 })).toEqual({
      input_tokens: 11,
      output_tokens: 16,
      total_tokens: 27,
      input_token_details: { cache_read: 0, cache_creation: 0 },
      output_token_details: { reasoning: 0 },
    });
  });

  it('adds cache reads and writes on top of input_tokens', () => {
    const usage = anthropicUsage({
      input_tokens: 20,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 500,
      output_tokens: 30,
    });
    expect(usage).toEqual({
      input_tokens: 1520,
      output_tokens: 30,
      total_tokens: 1550,
      input_token_details: { cache_read: 1000, cache_creation: 500 },
      output_token_details: { reasoning: 0 },
    });
  });

  it('reports the one-hour part of cache writes', () => {
    const usage = anthropicUsage({
      input_tokens: 20,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 500,
      cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 300 },
      output_tokens: 1,
    });
    expect(usage?.input_token_details).toEqual({ cache_read: 0, cache_creation: 500, cache_creation_1h: 300 });
    expect(usage?.input_tokens).toBe(520);
  });

  it('falls back to the TTL breakdown when the write total is missing', () => {
    const usage = anthropicUsage({
      input_tokens: 1,
      cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 60 },
      output_tokens: 2,
    });
    expect(usage?.input_token_details).toEqual({ cache_read: 0, cache_creation: 100, cache_creation_1h: 60 });
    expect(usage?.input_tokens).toBe(101);
  });

  it('reads thinking_tokens as reasoning, already inside output', () => {
    const usage = anthropicUsage({ input_tokens: 5, output_tokens: 120, output_tokens_details: { thinking_tokens: 100 } });
    expect(usage?.output_tokens).toBe(120);
    expect(usage?.output_token_details.reasoning).toBe(100);
  });

  it('tolerates null cache fields (as the API sends them) and returns null for no usage', () => {
    const usage = anthropicUsage({
      input_tokens: 7,
      output_tokens: 3,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      cache_creation: null,
      output_tokens_details: null,
      server_tool_use: null,
    });
    expect(usage).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });
    expect(usage?.input_token_details).toEqual({ cache_read: 0, cache_creation: 0 });
    expect(anthropicUsage(null)).toBeNull();
    expect(anthropicUsage(undefined)).toBeNull();
    expect(anthropicUsage({ cache_read_input_tokens: 5 })).toBeNull();
  });
});

describe('anthropicCumulativeUsage (stream usage is cumulative)', () => {
  const messageStart = {
    input_tokens: 20,
    cache_read_input_tokens: 1000,
    cache_creation_input_tokens: 500,
    output_tokens: 1,
  };

  it('replaces output_tokens with the final cumulative count instead of adding', () => {
    const merged = anthropicCumulativeUsage(messageStart, { output_tokens: 16 });
    const usage = anthropicUsage(merged);
    expect(usage?.output_tokens).toBe(16);
    expect(usage?.input_tokens).toBe(1520);
    expect(usage?.total_tokens).toBe(1536);
  });

  it('replaces input and cache fields a newer message_delta repeats, keeping those it nulls', () => {
    const merged = anthropicCumulativeUsage(messageStart, {
      input_tokens: 20,
      cache_read_input_tokens: null,
      cache_creation_input_tokens: 500,
      output_tokens: 42,
    });
    expect(anthropicUsage(merged)).toMatchObject({
      input_tokens: 1520,
      output_tokens: 42,
      input_token_details: { cache_read: 1000, cache_creation: 500 },
    });
  });

  it('replaces again on every further delta (last one wins)', () => {
    let merged = anthropicCumulativeUsage(null, messageStart);
    merged = anthropicCumulativeUsage(merged, { output_tokens: 10 });
    merged = anthropicCumulativeUsage(merged, { output_tokens: 25 });
    expect(anthropicUsage(merged)?.output_tokens).toBe(25);
  });

  it('handles missing sides', () => {
    expect(anthropicCumulativeUsage(null, null)).toBeNull();
    expect(anthropicCumulativeUsage(undefined, { output_tokens: 3 })).toEqual({ output_tokens: 3 });
    expect(anthropicCumulativeUsage(messageStart, undefined)).toEqual(messageStart);
    // The inputs are not mutated.
    anthropicCumulativeUsage(messageStart, { output_tokens: 99 });
    expect(messageStart.output_tokens).toBe(1);
  });
});

describe('usageFromWire', () => {
  it('dispatches by API flavour', () => {
    expect(usageFromWire('chat', { prompt_tokens: 1, completion_tokens: 2 })?.total_tokens).toBe(3);
    expect(usageFromWire('completions', { prompt_tokens: 1, completion_tokens: 2 })?.total_tokens).toBe(3);
    expect(usageFromWire('responses', { input_tokens: 1, output_tokens: 2 })?.total_tokens).toBe(3);
    expect(usageFromWire('messages', { input_tokens: 1, cache_read_input_tokens: 4, output_tokens: 2 })?.total_tokens).toBe(7);
    expect(usageFromWire('messages', null)).toBeNull();
  });
});

// The OpenAI-compatible providers' cost table: for each provider, one call's usage as that
// provider reports it on the wire (test/support/fake-compat.mjs), read by the OpenAI readers,
// and the price it must come to, computed here by hand from pricing.json's own figures.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactKeys } from '../src/errors.js';
import { openAIChatUsage, openAIChunkUsage, usageExtrasOf } from '../src/normalise.js';
import { loadPriceTable } from '../src/pricing/table.js';
import { COMPAT_PROVIDERS, compatBaseUrl, compatModelOf, type CompatName } from '../src/providers/compat.js';
import type { CallOutcome, CallSpec } from '../src/providers/types.js';
import { recordOf } from '../src/record.js';
import { compatUsage } from './support/fake-compat.mjs';

const table = loadPriceTable();
const raw = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8')) as {
  providers: { id: string; models: { id: string; prices: Record<string, number> }[] }[];
};
/** A model's price per 1M tokens (per 1K requests for requests_kcount), read straight from pricing.json. */
function rate(provider: string, model: string, key: string): number {
  const m = raw.providers.find((p) => p.id === provider)?.models.find((x) => x.id === model);
  const value = m?.prices[key];
  if (typeof value !== 'number') throw new Error(`pricing.json has no ${key} for ${provider}/${model}`);
  return value;
}

function spec(provider: CompatName, model: string): CallSpec {
  return { provider, api: 'chat', model, prompt: 'hi', stream: false, streamUsage: false, apiKey: '' };
}

async function priced(provider: CompatName, model: string, u: { input: number; output: number; cached?: number; reasoning?: number; cost?: number; citations?: number; searches?: number }) {
  const wire = compatUsage(provider, { cached: 0, reasoning: 0, ...u });
  const outcome: CallOutcome = { text: ['ok'], model, usage: openAIChatUsage(wire) };
  const extras = usageExtrasOf(wire);
  if (extras) outcome.extras = extras;
  return recordOf(spec(provider, model), outcome, 1, table);
}

const M = 1e6;

describe('each compatible provider: one call, priced by hand from pricing.json', () => {
  it('groq llama-3.1-8b-instant: 1,000 in, 500 out', async () => {
    const r = await priced('groq', 'llama-3.1-8b-instant', { input: 1000, output: 500 });
    expect(r.priced_as).toBe('groq/llama-3.1-8b-instant');
    expect(r.cost_usd).toBeCloseTo((1000 * rate('groq', 'llama-3.1-8b-instant', 'input_mtok') + 500 * rate('groq', 'llama-3.1-8b-instant', 'output_mtok')) / M, 15);
    expect(r.cost_usd).toBeCloseTo(0.00009, 15);
  });

  it('deepseek: prompt_cache_hit_tokens are cache reads, billed at the cache-read rate', async () => {
    const r = await priced('deepseek', 'deepseek-v3.1-terminus', { input: 1000, cached: 600, output: 200 });
    expect(r.usage.input_token_details.cache_read).toBe(600);
    expect(r.usage.input_tokens).toBe(1000);
    const m = 'deepseek-v3.1-terminus';
    const byHand = (400 * rate('deepseek', m, 'input_mtok') + 600 * rate('deepseek', m, 'cache_read_mtok') + 200 * rate('deepseek', m, 'output_mtok')) / M;
    expect(byHand).toBeCloseTo(0.000376, 15); // 400 x 0.27 + 600 x 0.13 + 200 x 0.95, per 1M
    expect(r.cost_usd).toBeCloseTo(byHand, 15);
  });

  it('mistral mistral-small-latest: 2,000 in, 1,000 out', async () => {
    const r = await priced('mistral', 'mistral-small-latest', { input: 2000, output: 1000 });
    expect(r.priced_as).toBe('mistral/mistral-small-latest');
    expect(r.cost_usd).toBeCloseTo((2000 * 0.1 + 1000 * 0.3) / M, 15);
    expect(rate('mistral', 'mistral-small-latest', 'input_mtok')).toBe(0.1);
  });

  it('x-ai grok-3-mini: reasoning outside completion_tokens is added to the output (its total says so)', async () => {
    const r = await priced('x-ai', 'grok-3-mini', { input: 100, cached: 20, output: 350, reasoning: 300 });
    // On the wire: completion_tokens 50, reasoning_tokens 300, total_tokens 450.
    expect(compatUsage('x-ai', { input: 100, output: 350, cached: 20, reasoning: 300 })).toMatchObject({ completion_tokens: 50, total_tokens: 450 });
    expect(r.usage).toMatchObject({ input_tokens: 100, output_tokens: 350, total_tokens: 450, output_token_details: { reasoning: 300 } });
    const byHand = (80 * rate('x-ai', 'grok-3-mini', 'input_mtok') + 20 * rate('x-ai', 'grok-3-mini', 'cache_read_mtok') + 350 * rate('x-ai', 'grok-3-mini', 'output_mtok')) / M;
    expect(r.cost_usd).toBeCloseTo(byHand, 15);
    expect(r.cost_usd).toBeCloseTo(0.0002005, 15);
  });

  it('together meta-llama/Llama-3.3-70B-Instruct-Turbo', async () => {
    const r = await priced('together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', { input: 1000, output: 1000 });
    expect(r.priced_as).toBe('together/meta-llama/Llama-3.3-70B-Instruct-Turbo');
    expect(r.cost_usd).toBeCloseTo((2000 * rate('together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'input_mtok')) / M, 15);
  });

  it('fireworks accounts/fireworks/models/deepseek-v3p2 with cached tokens', async () => {
    const r = await priced('fireworks', 'accounts/fireworks/models/deepseek-v3p2', { input: 1000, cached: 500, output: 100 });
    const m = 'deepseek-v3p2';
    expect(r.cost_usd).toBeCloseTo((500 * rate('fireworks', m, 'input_mtok') + 500 * rate('fireworks', m, 'cache_read_mtok') + 100 * rate('fireworks', m, 'output_mtok')) / M, 15);
  });

  it('cerebras llama-3.3-70b', async () => {
    const r = await priced('cerebras', 'llama-3.3-70b', { input: 1000, output: 1000 });
    expect(r.cost_usd).toBeCloseTo((1000 * 0.85 + 1000 * 1.2) / M, 15);
  });

  it('perplexity sonar: tokens plus its per-request fee', async () => {
    const r = await priced('perplexity', 'sonar', { input: 100, output: 100 });
    const byHand = (200 * rate('perplexity', 'sonar', 'input_mtok')) / M + rate('perplexity', 'sonar', 'requests_kcount') / 1000;
    expect(byHand).toBeCloseTo(0.0122, 15);
    expect(r.cost_usd).toBeCloseTo(byHand, 15);
  });

  it('perplexity sonar-deep-research: its citation tokens and web searches at their own prices', async () => {
    const m = 'sonar-deep-research';
    const r = await priced('perplexity', m, { input: 1000, output: 2000, citations: 3000, searches: 4 });
    const byHand =
      (1000 * rate('perplexity', m, 'input_mtok') + 2000 * rate('perplexity', m, 'output_mtok') + 3000 * rate('perplexity', m, 'output_citation_mtok')) / M +
      (4 * rate('perplexity', m, 'web_searches_kcount')) / 1000;
    expect(byHand).toBeCloseTo(0.044, 15); // $0.002 + $0.016 + $0.006 + $0.02
    expect(r.cost_usd).toBeCloseTo(byHand, 15);
    expect(r.fees).toEqual([
      { part: 'citation_tokens', quantity: 3000, rate: 2, usd: 0.006 },
      { part: 'web_searches', quantity: 4, rate: 5, usd: 0.02 },
    ]);
  });

  it('moonshotai kimi-k2-0905-preview with cache reads', async () => {
    const r = await priced('moonshotai', 'kimi-k2-0905-preview', { input: 1000, cached: 800, output: 100 });
    expect(r.cost_usd).toBeCloseTo((200 * 0.6 + 800 * 0.15 + 100 * 2.5) / M, 15);
  });

  it('openrouter: the total is the cost it reported; pricing.json\'s figure for the vendor\'s model is kept beside it', async () => {
    const r = await priced('openrouter', 'openai/gpt-4o', { input: 1000, output: 100, cost: 0.0036 });
    expect(r.cost_usd).toBe(0.0036);
    expect(r.reported_cost_usd).toBe(0.0036);
    expect(r.priced_as).toBe('openai/gpt-4o');
    expect(r.table_cost_usd).toBeCloseTo((1000 * rate('openai', 'gpt-4o', 'input_mtok') + 100 * rate('openai', 'gpt-4o', 'output_mtok')) / M, 15);
  });

  it('openrouter without a reported cost: the vendor\'s price; an unknown vendor: unknown, never $0', async () => {
    const r = await priced('openrouter', 'openai/gpt-4o', { input: 1000, output: 100 });
    expect(r.cost_usd).toBeCloseTo(0.0035, 15);
    expect(r.reported_cost_usd).toBeUndefined();
    const unknown = await priced('openrouter', 'nobody/some-model', { input: 10, output: 10 });
    expect(unknown.cost_usd).toBeNull();
    expect(unknown.cost_note).toContain('nobody/some-model');
  });

  it('ollama: no price, said so, never $0', async () => {
    const r = await priced('ollama', 'llama3.2', { input: 10, output: 10 });
    expect(r.cost_usd).toBeNull();
    expect(r.cost_note).toContain('ollama runs "llama3.2" on your own machine');
  });

  it('a compatible provider is priced under its own entry only, never another provider\'s same-named model', async () => {
    // gpt-4o is openai's; groq serves no such model, so the call has no price.
    const r = await priced('groq', 'gpt-4o', { input: 10, output: 10 });
    expect(r.cost_usd).toBeNull();
    expect(r.cost_note).toBe('no groq price for model "gpt-4o" (add it with --pricing FILE)');
  });
});

describe('usage quirks on the wire', () => {
  it("Groq's stream usage in x_groq.usage", () => {
    const chunk = { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], x_groq: { id: 'req_1', usage: compatUsage('groq', { input: 7, output: 3, cached: 0, reasoning: 0 }) } };
    expect(openAIChunkUsage(chunk)).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });
  });

  it('OpenAI usage whose total is prompt + completion keeps reasoning inside the output', () => {
    const u = openAIChatUsage({ prompt_tokens: 10, completion_tokens: 50, total_tokens: 60, completion_tokens_details: { reasoning_tokens: 30 } });
    expect(u).toMatchObject({ output_tokens: 50, total_tokens: 60, output_token_details: { reasoning: 30 } });
  });
});

describe('the providers table', () => {
  it('every row with a pricing provider names one pricing.json has', () => {
    const ids = new Set(raw.providers.map((p) => p.id));
    for (const row of COMPAT_PROVIDERS) if (row.pricing !== null) expect(ids.has(row.pricing), row.id).toBe(true);
  });

  it('NAME/MODEL names a compatible provider, once', () => {
    expect(compatModelOf('groq/llama-3.1-8b-instant')).toEqual({ provider: 'groq', model: 'llama-3.1-8b-instant' });
    expect(compatModelOf('openrouter/openai/gpt-4o')).toEqual({ provider: 'openrouter', model: 'openai/gpt-4o' });
    expect(compatModelOf('openai/gpt-4o')).toBeNull();
    expect(compatModelOf('meta-llama/Llama-3.3-70B')).toBeNull();
  });

  it("ollama's base URL from OLLAMA_HOST as ollama reads it", () => {
    expect(compatBaseUrl('ollama', {}).url).toBe('http://localhost:11434/v1');
    expect(compatBaseUrl('ollama', { OLLAMA_HOST: '0.0.0.0' }).url).toBe('http://127.0.0.1:11434/v1');
    expect(compatBaseUrl('ollama', { OLLAMA_HOST: 'gpu-box:8080' }).url).toBe('http://gpu-box:8080/v1');
    expect(compatBaseUrl('ollama', { OLLAMA_HOST: 'https://ollama.example' }).url).toBe('https://ollama.example/v1');
  });
});

describe('the compatible providers\' keys', () => {
  it('are redacted from every error line, by their *_API_KEY variable (regression: only five providers\' variables were)', () => {
    const env = { GROQ_API_KEY: 'gsk_groq-secret-0001', DEEPSEEK_API_KEY: 'deepseek-secret-0002', MOONSHOT_API_KEY: 'moon-secret-0003', HOME: '/home/someone' };
    expect(redactKeys('401 for gsk_groq-secret-0001 and deepseek-secret-0002 and moon-secret-0003 in /home/someone', env)).toBe('401 for *** and *** and *** in /home/someone');
  });
});

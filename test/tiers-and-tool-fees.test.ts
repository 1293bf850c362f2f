// Service tiers and per-search tool fees, priced with pricing.json's own numbers: every expected
// figure below is worked out by hand in the test from the rates the table holds.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anthropicUsage, openAIChatUsage, openAIResponsesUsage } from '../src/normalise.js';
import { costOf } from '../src/pricing/cost.js';
import { resolveModel } from '../src/pricing/resolve.js';
import { staleTableHint } from '../src/pricing/source.js';
import { mergeTables, priceAt } from '../src/pricing/table.js';
import { pricesForTier, tieredCostOf } from '../src/pricing/tier.js';
import type { ModelPrice, PriceTable } from '../src/pricing/types.js';
import { priceOf } from '../src/record.js';
import { makeUsage } from '../src/usage.js';

const table = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8')) as PriceTable;
const found = (name: string) => {
  const f = resolveModel(table, name);
  if (!f) throw new Error(`pricing.json has no ${name}`);
  return f;
};
const rates = (name: string): Record<string, number> => priceAt(found(name).model) as Record<string, number>;

describe('web searches: a cost part of their own, per search', () => {
  it('Anthropic server_tool_use.web_search_requests bill at web_searches_kcount per 1K searches', () => {
    const r = rates('claude-3-5-sonnet-20241022');
    expect(typeof r.web_searches_kcount).toBe('number');
    const usage = anthropicUsage({ input_tokens: 1000, output_tokens: 200, server_tool_use: { web_search_requests: 3 } });
    expect(usage?.web_search_requests).toBe(3);
    const cost = costOf(usage!, priceAt(found('claude-3-5-sonnet-20241022').model));
    const searches = (3 * r.web_searches_kcount!) / 1000;
    expect(cost.parts.find((p) => p.part === 'web_search')).toEqual({ part: 'web_search', quantity: 3, rate: r.web_searches_kcount, usd: searches });
    expect(cost.usd).toBeCloseTo((1000 * r.input_mtok!) / 1e6 + (200 * r.output_mtok!) / 1e6 + searches, 15);
  });

  it('OpenAI Responses web_search_call items that searched are counted; open_page is not a billed search', () => {
    const response = {
      service_tier: 'default',
      output: [
        { type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'a' } },
        { type: 'web_search_call', status: 'completed', action: { type: 'open_page', url: 'https://example.com' } },
        { type: 'web_search_call', status: 'completed' },
        { type: 'message', content: [] },
      ],
    };
    const usage = openAIResponsesUsage({ input_tokens: 500, output_tokens: 100 }, response);
    expect(usage?.web_search_requests).toBe(2);
    expect(usage?.service_tier).toBe('default');
    const r = rates('gpt-4o');
    const cost = costOf(usage!, priceAt(found('gpt-4o').model));
    expect(cost.usd).toBeCloseTo((500 * r.input_mtok!) / 1e6 + (100 * r.output_mtok!) / 1e6 + (2 * r.web_searches_kcount!) / 1000, 15);
  });

  it('a model without a search rate leaves the searches unpriced: the total is unknown, never a silent $0 for them', () => {
    const prices = priceAt(found('claude-3-haiku-20240307').model) as Record<string, number>;
    expect(prices.web_searches_kcount).toBeUndefined();
    const cost = costOf(makeUsage({ input: 1000, output: 100, webSearches: 1 }), prices);
    expect(cost.usd).toBeNull();
    expect(cost.unpriced).toEqual(['web_search']);
    expect(cost.knownUsd).toBeCloseTo((1000 * prices.input_mtok!) / 1e6 + (100 * prices.output_mtok!) / 1e6, 15);
  });

  it('no searches, no part: a call without them prices as before', () => {
    const cost = costOf(makeUsage({ input: 10, output: 10 }), priceAt(found('gpt-4o').model));
    expect(cost.parts.map((p) => p.part)).toEqual(['input', 'output']);
  });
});

describe('service tiers', () => {
  it('the tier is read from the wire: OpenAI service_tier beside the usage, Anthropic usage.service_tier', () => {
    expect(openAIChatUsage({ prompt_tokens: 1, completion_tokens: 1 }, { service_tier: 'flex' })?.service_tier).toBe('flex');
    expect(anthropicUsage({ input_tokens: 1, output_tokens: 1, service_tier: 'priority' })?.service_tier).toBe('priority');
    expect(openAIChatUsage({ prompt_tokens: 1, completion_tokens: 1 })?.service_tier).toBeUndefined();
    // Not a word: not a tier.
    expect(anthropicUsage({ input_tokens: 1, output_tokens: 1, service_tier: { x: 1 } })?.service_tier).toBeUndefined();
  });

  it('standard tiers (default, standard) price at the model\'s own rates, with nothing to say', () => {
    for (const tier of [undefined, 'default', 'standard']) {
      const t = pricesForTier(found('gpt-4o'), tier);
      expect(t.note).toBeNull();
      expect(t.prices).toBe(priceAt(found('gpt-4o').model));
    }
  });

  it('a tier the table has no price for: standard rates, and the note says so', () => {
    const r = rates('gpt-4o');
    const usage = makeUsage({ input: 2000, output: 300, serviceTier: 'flex' });
    const { cost, note, pricedAs } = tieredCostOf(usage, found('gpt-4o'));
    expect(note).toMatch(/^openai\/gpt-4o ran at the "flex" service tier, which the price table has no price for: priced at standard rates$/);
    expect(pricedAs).toBe('openai/gpt-4o');
    expect(cost.usd).toBeCloseTo((2000 * r.input_mtok!) / 1e6 + (300 * r.output_mtok!) / 1e6, 15);

    const record = priceOf(usage, ['gpt-4o'], 'openai', table);
    expect(record.price_note).toBe(note);
    expect(record.cost_usd).toBeCloseTo(cost.usd!, 12);
  });

  it('where the table has the tier (a "<model>@<tier>" entry), its prices are used and named', () => {
    // A user's file adds the tier: these numbers are the test's, not prices we ship.
    const flex: ModelPrice = { input_mtok: 1.25, cache_read_mtok: 0.625, output_mtok: 5 };
    const withTier = mergeTables(table, [{ id: 'openai', name: 'OpenAI', models: [{ id: 'gpt-4o@flex', match: { equals: 'gpt-4o@flex' }, prices: flex }] }], 'tiers.json');
    const usage = makeUsage({ input: 2000, cacheRead: 1000, output: 300, serviceTier: 'flex' });
    const record = priceOf(usage, ['gpt-4o-2024-08-06'], 'openai', withTier);
    expect(record.priced_as).toBe('openai/gpt-4o@flex');
    expect(record.price_note).toBeUndefined();
    expect(record.cost_usd).toBeCloseTo((1000 * 1.25) / 1e6 + (1000 * 0.625) / 1e6 + (300 * 5) / 1e6, 15);
    // The standard tier of the same model keeps the standard prices.
    const std = priceOf(makeUsage({ input: 2000, cacheRead: 1000, output: 300, serviceTier: 'default' }), ['gpt-4o-2024-08-06'], 'openai', withTier);
    expect(std.priced_as).toBe('openai/gpt-4o');
  });
});

describe('the stale-table hint', () => {
  it('only when the table is more than 30 days old', () => {
    const source = { package: '@pydantic/genai-prices', version: '0.1.8', synced: '2026-10-01' };
    expect(staleTableHint(source, new Date('2026-10-31T12:00:00Z'))).toBe('');
    expect(staleTableHint(source, new Date('2026-11-01T00:00:00Z'), '; ')).toBe('; your prices are from 2026-10-01: `llm-usage pricing update` may know it');
    // A download is dated by when it was downloaded.
    expect(staleTableHint({ ...source, origin: 'downloaded', downloaded: '2026-10-30T10:00:00.000Z' }, new Date('2026-11-15T00:00:00Z'))).toBe('');
  });
});

describe('fine-tuned names price only at fine-tuning prices', () => {
  it('ft:o4-mini is never base o4-mini through Azure\'s "contains" rule (regression)', () => {
    // A fine-tuned snapshot no rule prices stays unknown, though Azure's o4-mini rule contains its name.
    expect(resolveModel(table, 'ft:o4-mini-2099-01-01:org::abc123')).toBeNull();
    expect(resolveModel(table, 'ft:o4-mini-2099-01-01:org::abc123', 'azure')).toBeNull();
    // The published fine-tuned o4-mini bills at its own fine-tuning entry, from any provider order.
    expect(resolveModel(table, 'ft:o4-mini-2025-04-16:org::abc123')?.model.id).toBe('ft:o4-mini');
    expect(resolveModel(table, 'ft:o4-mini-2025-04-16:org::abc123', 'azure')?.model.id).toBe('ft:o4-mini');
    expect(resolveModel(table, 'ft:gpt-4.1-2025-04-14:org::abc123')?.model.id).toBe('ft:gpt-4.1');
    // Upstream's own fine-tuning rules still apply.
    expect(resolveModel(table, 'ft:gpt-4o-2024-08-06:org::abc123')?.model.id).toBe('ft:gpt-4o');
    expect(resolveModel(table, 'ft:gpt-4-0613:org::abc123')?.model.id).toBe('gpt-4');
    // The base names are untouched.
    expect(resolveModel(table, 'o4-mini-2025-04-16')?.provider.id).toBe('openai');
  });
});

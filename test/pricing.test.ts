import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { costOf } from '../src/pricing/cost.js';
import { usageFromCounts } from '../src/pricing/quote.js';
import { closeModelNames, requireModel, resolveModel } from '../src/pricing/resolve.js';
import { loadPriceTable, priceAt, providerProblem, readUserPricing, mergeTables } from '../src/pricing/table.js';
import type { ModelInfo, ModelPrice, PriceTable } from '../src/pricing/types.js';
import { formatUsd } from '../src/render/format.js';
import { makeUsage, type Usage } from '../src/usage.js';

const table = loadPriceTable();

function cost(model: string, counts: Parameters<typeof usageFromCounts>[0], provider?: string): number | null {
  const found = requireModel(table, model, provider);
  const usage = usageFromCounts(counts);
  if (typeof usage === 'string') throw new Error(usage);
  return costOf(usage, priceAt(found.model)).usd;
}

describe('the seeds\' printed costs reproduce', () => {
  // Figures printed by LangChain's callbacks against the real APIs (shared/seeds).
  it.each([
    ['gpt-3.5-turbo-instruct', 4, 14, '$0.000034'],
    ['text-davinci-002', 4, 38, '$0.00084'],
    ['gpt-3.5-turbo-0125', 11, 16, '$0.0000295'],
    ['gpt-4-turbo', 1412, 171, '$0.01925'],
    ['text-davinci-003', 1350, 156, '$0.03012'],
    ['anthropic.claude-v2', 26, 70, '$0.001888'],
  ])('%s with %i + %i tokens costs %s', (model, input, output, printed) => {
    const usd = cost(model, { input, output });
    expect(usd).not.toBeNull();
    expect(formatUsd(usd as number)).toBe(printed);
  });

  it('prices Anthropic cache reads and writes at their own rates', () => {
    const usd = cost('claude-3-5-sonnet-20241022', { input: 1520, cached: 1000, cacheWrite: 500, output: 100 });
    expect(formatUsd(usd as number)).toBe('$0.003735');
  });

  it('bills OpenAI cached tokens at the cache-read rate, out of the prompt tokens', () => {
    // gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per 1M.
    const usd = cost('gpt-4o-mini', { input: 2000, cached: 1000, output: 100 }) as number;
    expect(usd).toBeCloseTo((1000 * 0.15 + 1000 * 0.075 + 100 * 0.6) / 1e6, 15);
  });

  it('bills reasoning tokens at the output rate, inside output tokens', () => {
    const withReasoning = cost('o1', { input: 100, output: 500, reasoning: 400 });
    const without = cost('o1', { input: 100, output: 500 });
    expect(withReasoning).toBe(without);
  });

  it('applies a tier to the whole request above the threshold', () => {
    // claude-sonnet-4-5: $3 / $15 up to 200K input tokens, $6 / $22.50 for the whole request above.
    expect(cost('claude-sonnet-4-5', { input: 200_000, output: 1000 })).toBeCloseTo(0.6 + 0.015, 12);
    expect(cost('claude-sonnet-4-5', { input: 200_001, output: 1000 })).toBeCloseTo((200_001 * 6 + 1000 * 22.5) / 1e6, 12);
  });

  it('uses the dated price in force', () => {
    const o3 = requireModel(table, 'o3', 'openai').model;
    expect(priceAt(o3, new Date('2025-01-01')).input_mtok).toBe(10);
    expect(priceAt(o3, new Date('2025-07-01')).input_mtok).toBe(2);
  });
});

describe('an unpriced part is never a silent $0', () => {
  it('marks the total unknown when output tokens have no price', () => {
    const embedding: ModelPrice = { input_mtok: 0.1 };
    const c = costOf(makeUsage({ input: 10, output: 5 }), embedding);
    expect(c.usd).toBeNull();
    expect(c.unpriced).toEqual(['output']);
    expect(c.knownUsd).toBeCloseTo(1e-6, 15);
  });

  it('rejects usage whose cache tokens exceed the input', () => {
    expect(() => costOf(makeUsage({ input: 10, cacheRead: 20 }), { input_mtok: 1, cache_read_mtok: 0.1 })).toThrow(/exceed/);
    expect(usageFromCounts({ input: 10, cached: 20 })).toMatch(/exceed --input-tokens/);
  });
});

// A deterministic generator, so a failure names a usage that can be replayed.
function* usages(seed: number): Generator<Usage> {
  let s = seed;
  const next = (max: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % (max + 1);
  };
  yield makeUsage({ input: 1000, output: 100 });
  yield makeUsage({ input: 300_000, output: 2000, cacheRead: 100_000, cacheCreation: 50_000, cacheCreation1h: 20_000 });
  for (let i = 0; i < 6; i++) {
    const input = next(400_000);
    const cacheRead = next(Math.floor(input / 2));
    const cacheCreation = next(input - cacheRead);
    const output = next(50_000);
    yield makeUsage({ input, output, cacheRead, cacheCreation, cacheCreation1h: next(cacheCreation), reasoning: next(output) });
  }
}

function priceVariants(model: ModelInfo): { when: Date; prices: ModelPrice }[] {
  if (!Array.isArray(model.prices)) return [{ when: new Date('2026-01-01T12:00:00Z'), prices: model.prices }];
  return model.prices.map((c) => {
    const when = c.constraint && 'start_date' in c.constraint ? new Date(`${c.constraint.start_date}T12:00:00Z`) : new Date('2000-01-01T12:00:00Z');
    return { when, prices: priceAt(model, when) };
  });
}

describe('our arithmetic agrees with genai-prices\' calcPrice', () => {
  const models = table.providers.flatMap((provider) => provider.models.map((model) => ({ provider, model })));

  it(`on every one of the ${models.length} models in pricing.json`, () => {
    let compared = 0;
    for (const { provider, model } of models) {
      // One model alone under an exact rule, so calcPrice prices exactly this entry.
      const only = { ...provider, api_pattern: provider.api_pattern ?? '', models: [{ ...model, match: { equals: model.id } }] };
      for (const { when, prices } of priceVariants(model)) {
        for (const usage of usages(model.id.length)) {
          const ours = costOf(usage, prices);
          const theirs = calcPrice(
            {
              input_tokens: usage.input_tokens,
              cache_read_tokens: usage.input_token_details.cache_read,
              cache_write_tokens: usage.input_token_details.cache_creation,
              cache_write_1h_tokens: usage.input_token_details.cache_creation_1h ?? 0,
              output_tokens: usage.output_tokens,
              output_reasoning_tokens: usage.output_token_details.reasoning,
            },
            model.id,
            { provider: only as never, timestamp: when },
          );
          expect(theirs, `${provider.id}/${model.id}`).not.toBeNull();
          const total = (theirs as { total_price: number }).total_price;
          // Where a part has no price we say "unknown"; calcPrice counts it as 0, so compare the priced parts.
          expect(ours.knownUsd, `${provider.id}/${model.id} ${JSON.stringify(usage)}`).toBeCloseTo(total, 9);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(models.length * 8 - 1);
  });

  it('every entry of pricing.json is well formed', () => {
    table.providers.forEach((p, i) => expect(providerProblem(p, `providers[${i}]`)).toBeNull());
    for (const p of ['openai', 'anthropic', 'azure', 'aws', 'google', 'groq', 'mistral', 'deepseek', 'x-ai']) {
      expect(table.providers.map((x) => x.id)).toContain(p);
    }
    expect(table.source.package).toBe('@pydantic/genai-prices');
    expect(table.source.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(table.source.synced).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('model names as providers and users send them', () => {
  const at = (name: string, provider?: string) => {
    const r = resolveModel(table, name, provider);
    return r ? `${r.provider.id}/${r.model.id}` : null;
  };
  it.each([
    ['gpt-4-turbo', 'openai/gpt-4-turbo'],
    ['gpt-4-turbo-2024-04-09', 'openai/gpt-4-turbo'],
    ['gpt-3.5-turbo-0125', 'openai/gpt-3.5-turbo'],
    ['gpt-35-turbo', 'openai/gpt-3.5-turbo'],
    ['ft:gpt-3.5-turbo-0125:my-org::8abcDEF', 'openai/ft:gpt-3.5-turbo-'],
    ['ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:9xyz', 'openai/ft:gpt-4o-mini'],
    ['us.anthropic.claude-3-haiku-20240307-v1:0', 'aws/regional.anthropic.claude-3-haiku-20240307-v1:0'],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'aws/regional.anthropic.claude-3-haiku-20240307-v1:0'],
    ['anthropic.claude-v2', 'aws/anthropic.claude-v2'],
    ['anthropic.claude-v2:1', 'aws/anthropic.claude-v2'],
    ['claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
    ['davinci-002', 'openai/davinci-002'],
    ['babbage-002', 'openai/babbage-002'],
    ['GPT-4O-MINI', 'openai/gpt-4o-mini'],
  ])('%s -> %s', (name, expected) => {
    expect(at(name)).toBe(expected);
  });

  it('restricts to --provider, with its fallback providers', () => {
    expect(at('phi-4', 'azure')).toBe('azure/phi-4');
    expect(at('gpt-35-turbo', 'azure')).toBe('openai/gpt-3.5-turbo');
    expect(at('gpt-4-turbo', 'azure')).toBe('openai/gpt-4-turbo');
    expect(resolveModel(table, 'gpt-4-turbo', 'azure')?.via.join()).toMatch(/azure falls back/);
    expect(at('gpt-4-turbo', 'anthropic')).toBeNull();
  });

  it('resolves the same after more names than it remembers (a client may send ever new ones)', () => {
    for (let i = 0; i < 10_050; i++) expect(resolveModel(table, `no-such-model-${i}`, undefined, 'openai')).toBeNull();
    expect(resolveModel(table, 'gpt-4o-mini', undefined, 'openai')?.model.id).toBe('gpt-4o-mini');
    expect(resolveModel(table, 'no-such-model-3', undefined, 'openai')).toBeNull();
    // A name too long to remember is still resolved, each time.
    for (let i = 0; i < 2; i++) expect(resolveModel(table, `gpt-4o-mini${' '.repeat(300)}`, undefined, 'openai')?.model.id).toBe('gpt-4o-mini');
    expect(at('gpt-4-turbo', 'azure')).toBe('openai/gpt-4-turbo');
  });

  it('never guesses by substring: gpt-4 and gpt-4o are different models', () => {
    expect(at('gpt-4')).toBe('openai/gpt-4');
    expect(at('gpt-4o')).toBe('openai/gpt-4o');
    expect(at('gpt-4-nonexistent-model')).toBeNull();
    expect(at('my-private-model')).toBeNull();
  });

  it('names up to three close known models for an unknown one', () => {
    const close = closeModelNames(table, 'gpt-4-turbo-x');
    expect(close.length).toBeGreaterThan(0);
    expect(close.length).toBeLessThanOrEqual(3);
    expect(close).toContain('gpt-4-turbo');
    expect(() => requireModel(table, 'gpt-4-turbo-x')).toThrow(/unknown model "gpt-4-turbo-x"; close: .*gpt-4-turbo/);
  });
});

// Overlay prices from OpenAI's own pages (scripts/pricing-overlay.json): each figure below is the
// published one, per 1M tokens. A fine-tuned name bills at its fine-tuning rates, its base name at
// the base model's own entry, whatever that says.
describe('fine-tuned OpenAI models upstream lacks, from OpenAI\'s published fine-tuning prices', () => {
  const published: [name: string, entry: string, base: string, rates: { input: number; cached?: number; output: number }][] = [
    ['ft:davinci-002:acme::B1x2y3z4', 'ft:davinci-002', 'davinci-002', { input: 12, output: 12 }],
    ['ft:babbage-002:acme:classifier:B1x2y3z4', 'ft:babbage-002', 'babbage-002', { input: 1.6, output: 1.6 }],
    ['ft:gpt-4.1-2025-04-14:acme::B1x2y3z4', 'ft:gpt-4.1', 'gpt-4.1-2025-04-14', { input: 3, cached: 0.75, output: 12 }],
    ['ft:gpt-4.1-mini-2025-04-14:acme::B1x2y3z4', 'ft:gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14', { input: 0.8, cached: 0.2, output: 3.2 }],
    ['ft:gpt-4.1-nano-2025-04-14:acme:support-bot:B1x2y3z4', 'ft:gpt-4.1-nano', 'gpt-4.1-nano-2025-04-14', { input: 0.2, cached: 0.05, output: 0.8 }],
    ['ft:o4-mini-2025-04-16:acme::B1x2y3z4', 'ft:o4-mini', 'o4-mini-2025-04-16', { input: 4, cached: 1, output: 16 }],
  ];

  it.each(published)('%s prices as %s at the published rates', (name, entry, _base, rates) => {
    const found = requireModel(table, name);
    expect(`${found.provider.id}/${found.model.id}`).toBe(`openai/${entry}`);
    const cached = rates.cached === undefined ? 0 : 4000;
    const usd = cost(name, { input: 10_000, cached, output: 2000 }) as number;
    expect(usd).toBeCloseTo(((10_000 - cached) * rates.input + cached * (rates.cached ?? 0) + 2000 * rates.output) / 1e6, 15);
    expect(priceAt(found.model).cache_read_mtok).toBe(rates.cached);
  });

  it.each(published.map(([name, entry, base]) => [base, name, entry] as const))('base %s keeps the base entry\'s own rates, not %s\'s', (base, name, entry) => {
    const found = requireModel(table, base);
    expect(found.model.id).not.toMatch(/^ft:/);
    const own = priceAt(found.model);
    const ft = priceAt(requireModel(table, name).model);
    expect(own.input_mtok).not.toBe(ft.input_mtok);
    expect(own.output_mtok).not.toBe(ft.output_mtok);
    expect(cost(base, { input: 10_000, output: 2000 })).toBeCloseTo((10_000 * (own.input_mtok as number) + 2000 * (own.output_mtok as number)) / 1e6, 15);
    expect(found.model.id).not.toBe(entry);
  });

  it('a checkpoint of a fine-tuned model bills as the model; another snapshot\'s fine-tune stays unknown', () => {
    expect(resolveModel(table, 'ft:gpt-4.1-2025-04-14:acme:support-bot:B1x2y3z4:ckpt-step-88')?.model.id).toBe('ft:gpt-4.1');
    // The gpt-4.1 rule is the 2025-04-14 snapshot's only: neither mini nor nano, nor an unpublished snapshot.
    expect(resolveModel(table, 'ft:gpt-4.1-mini-2025-04-14:acme::x')?.model.id).toBe('ft:gpt-4.1-mini');
    expect(resolveModel(table, 'ft:gpt-4.1-2099-01-01:acme::x')).toBeNull();
    expect(resolveModel(table, 'ft:o4-mini-2099-01-01:acme::x')).toBeNull();
  });
});

describe('the *-search-api models', () => {
  it.each(['gpt-5-search-api', 'gpt-5-search-api-2025-10-14'])('%s prices at OpenAI\'s $1.25 / $0.125 cached / $10.00 per 1M', (name) => {
    const found = requireModel(table, name);
    expect(`${found.provider.id}/${found.model.id}`).toBe('openai/gpt-5-search-api');
    const usd = cost(name, { input: 10_000, cached: 4000, output: 2000 }) as number;
    expect(usd).toBeCloseTo((6000 * 1.25 + 4000 * 0.125 + 2000 * 10) / 1e6, 15);
  });

  it('the search-preview models keep upstream\'s entries', () => {
    expect(requireModel(table, 'gpt-4o-search-preview').model.price_comments ?? '').not.toMatch(/^Overlay:/);
    expect(requireModel(table, 'gpt-4o-mini-search-preview').model.price_comments ?? '').not.toMatch(/^Overlay:/);
    expect(requireModel(table, 'gpt-4o-search-preview').model.id).not.toBe('gpt-5-search-api');
  });
});

describe('dollar amounts', () => {
  it.each([
    [0.019250000000000003, '$0.01925'],
    [2.95e-5, '$0.0000295'],
    [3.4e-5, '$0.000034'],
    [2.95e-7, '$0.000000295'],
    [0.5, '$0.50'],
    [12, '$12.00'],
    [1234.5678, '$1,234.5678'],
    [0, '$0.00'],
  ])('%s prints as %s', (usd, text) => {
    expect(formatUsd(usd)).toBe(text);
  });
});

describe('user pricing files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-usage-pricing-'));
  const write = (name: string, data: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
    return file;
  };

  it('merge on top: a user model wins, a new provider is searched first', () => {
    const file = write('ok.json', {
      providers: [
        { id: 'openai', name: 'OpenAI', models: [{ id: 'gpt-4-turbo', match: { equals: 'gpt-4-turbo' }, prices: { input_mtok: 1, output_mtok: 2 } }] },
        { id: 'mycorp', name: 'My Corp', models: [{ id: 'house-model', match: { equals: 'house-model' }, prices: { input_mtok: 3, output_mtok: 4 } }] },
      ],
    });
    const merged: PriceTable = loadPriceTable(file);
    expect(requireModel(merged, 'gpt-4-turbo').model.prices).toEqual({ input_mtok: 1, output_mtok: 2 });
    expect(requireModel(merged, 'house-model').provider.id).toBe('mycorp');
    expect(merged.providers[0]?.id).toBe('mycorp');
    expect(merged.source.user_files).toEqual([file]);
    expect(mergeTables(table, [], 'x').providers.length).toBe(table.providers.length);
  });

  it('matches a user regex in linear time: a catastrophic pattern neither hangs nor stops matching', () => {
    const file = write('catastrophic.json', { providers: [{ id: 'mycorp', models: [{ id: 'as', match: { regex: '(a+)+$' }, prices: { input_mtok: 1 } }] }] });
    const merged = loadPriceTable(file);
    const started = performance.now();
    // 2^36 steps for a backtracking engine.
    expect(resolveModel(merged, `${'a'.repeat(36)}!`)).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(resolveModel(merged, 'aaaa')?.model.id).toBe('as');
    expect(resolveModel(merged, 'xAAA')?.model.id).toBe('as');
  });

  it.each([
    ['an empty list', [], /has no providers/],
    ['a duplicate model id', { providers: [{ id: 'x', models: [{ id: 'm', match: { equals: 'm' }, prices: {} }, { id: 'm', match: { equals: 'n' }, prices: {} }] }] }, /providers\[0\] \("x"\)\.models\[1\] \("m"\) repeats models\[0\]/],
    ['an unknown price key', { providers: [{ id: 'x', models: [{ id: 'm', match: { equals: 'm' }, prices: { bogus_mtok: 1 } }] }] }, /providers\[0\] \("x"\)\.models\[0\] \("m"\)\.prices has unknown price "bogus_mtok"; known: input_mtok, output_mtok/],
    ['a price out of range', '{"providers": [{"id": "x", "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"output_mtok": 1e309}}]}]}', /prices\.output_mtok must be a non-negative number \(the value given is out of range\)/],
    ['a lookahead', { providers: [{ id: 'x', models: [{ id: 'm', match: { regex: '^(?!foo)' }, prices: {} }] }] }, /match\.regex is not a valid regular expression: .*\(RE2 syntax: no lookarounds or backreferences\)/],
  ])('rejects %s', (_name, data, message) => {
    const file = write(`bad-${_name.replace(/\W/g, '')}.json`, data);
    expect(() => readUserPricing(file)).toThrow(message);
  });

  it.each([
    ['not JSON', '{oops', /is not valid JSON/],
    ['no providers', { models: [] }, /expected \{"providers"/],
    ['a provider without id', { providers: [{ models: [] }] }, /providers\[0\]\.id must be/],
    ['a bad price', { providers: [{ id: 'x', models: [{ id: 'm', match: { equals: 'm' }, prices: { input_mtok: 'cheap' } }] }] }, /providers\[0\] \("x"\)\.models\[0\] \("m"\)\.prices\.input_mtok must be/],
    ['a bad match rule', { providers: [{ id: 'x', models: [{ id: 'm', match: { like: 'm' }, prices: {} }] }] }, /match has unknown rule "like"/],
    ['1h write without write', { providers: [{ id: 'x', models: [{ id: 'm', match: { equals: 'm' }, prices: { cache_write_1h_mtok: 1 } }] }] }, /cache_write_1h_mtok without cache_write_mtok/],
  ])('rejects %s with one line naming the file and entry', (_name, data, message) => {
    const file = write(`bad-${_name.replace(/\W/g, '')}.json`, data);
    expect(() => readUserPricing(file)).toThrow(message);
    expect(() => readUserPricing(file)).toThrow(file);
  });
});

describe('pricing:sync', () => {
  it('is idempotent and matches the committed pricing.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-usage-sync-'));
    const out = join(dir, 'pricing.json');
    copyFileSync('pricing.json', out);
    execFileSync(process.execPath, ['scripts/sync-pricing.mjs', '--out', out], { stdio: 'pipe' });
    const once = readFileSync(out, 'utf8');
    execFileSync(process.execPath, ['scripts/sync-pricing.mjs', '--out', out], { stdio: 'pipe' });
    expect(readFileSync(out, 'utf8')).toBe(once);
    expect(once).toBe(readFileSync('pricing.json', 'utf8'));
  });
});

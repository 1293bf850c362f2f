// Service tiers and web searches through the built CLI: what the summary says, what --json and
// the ledger keep, each figure worked out here from pricing.json's own rates.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { priceAt } from '../../src/pricing/table.js';
import type { ModelInfo, PriceTable } from '../../src/pricing/types.js';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const table = JSON.parse(readFileSync(new URL('../../pricing.json', import.meta.url), 'utf8')) as PriceTable;
const rates = (provider: string, id: string) => priceAt(table.providers.find((p) => p.id === provider)?.models.find((m) => m.id === id) as ModelInfo) as Record<string, number>;

let fake: FakeProvider;
let dir: string;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), 'llm-usage-e2e-tiers-'));
});
const env = (ledger: string) => ({ OPENAI_API_KEY: 'sk-test-tiers', ANTHROPIC_API_KEY: 'sk-ant-test-tiers', OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, LLM_USAGE_LEDGER: ledger });

describe('service tiers', () => {
  it('a flex reply: recorded, priced at standard rates because the table has no flex price, and the summary says so', async () => {
    const ledger = join(dir, 'l.jsonl');
    fake.setDefault({ usage: { input: 1000, output: 200 }, serviceTier: 'flex' });
    const r = await runCli(['run', '-m', 'gpt-4o-mini', 'hi'], { env: env(ledger) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('cost note: openai/gpt-4o-mini ran at the "flex" service tier, which the price table has no price for: priced at standard rates');
    const line = JSON.parse(readFileSync(ledger, 'utf8').trim());
    const r4 = rates('openai', 'gpt-4o-mini');
    expect(line.service_tier).toBe('flex');
    expect(line.usage.service_tier).toBeUndefined(); // kept beside the usage, not in it
    expect(line.cost_usd).toBeCloseTo((1000 * r4.input_mtok! + 200 * r4.output_mtok!) / 1e6, 12);

    const json = JSON.parse((await runCli(['run', '-m', 'gpt-4o-mini', '--json', 'hi'], { env: env(join(dir, 'j.jsonl')) })).stdout);
    expect(json.calls[0]).toMatchObject({ service_tier: 'flex', price_note: expect.stringContaining('priced at standard rates') });
    expect(json.price_notes).toHaveLength(1);

    // report --reprice prices the ledger line at its tier again, and says the same.
    const note = 'cost note: openai/gpt-4o-mini ran at the "flex" service tier, which the price table has no price for: priced at standard rates';
    const report = await runCli(['report', '--reprice', '--no-chart', '--ledger', ledger], { env: {} });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(`${note}\n`);
    const asJson = await runCli(['report', '--reprice', '--json', '--ledger', ledger], { env: {} });
    expect(asJson.stderr).toBe(`llm-usage: ${note}\n`);
    expect(JSON.parse(asJson.stdout)[0].reprice_difference_usd).toBe(0);
  });

  it('a standard tier says nothing more, and is still recorded', async () => {
    const ledger = join(dir, 'l.jsonl');
    fake.setDefault({ usage: { input: 10, output: 10 } });
    const r = await runCli(['run', '-m', 'claude-3-5-haiku-latest', 'hi'], { env: env(ledger) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('cost note');
    expect(JSON.parse(readFileSync(ledger, 'utf8').trim()).service_tier).toBe('standard');
  });

  it('with a --pricing file that has the tier ("gpt-4o-mini@flex"), its price is used and named', async () => {
    const ledger = join(dir, 'l.jsonl');
    const file = join(dir, 'tiers.json');
    // The test's own numbers, not prices we ship.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify([{ id: 'openai', models: [{ id: 'gpt-4o-mini@flex', match: { equals: 'gpt-4o-mini@flex' }, prices: { input_mtok: 0.1, output_mtok: 0.4 } }] }]));
    fake.setDefault({ usage: { input: 1000, output: 200 }, serviceTier: 'flex' });
    const r = await runCli(['run', '-m', 'gpt-4o-mini', '--pricing', file, '--json', 'hi'], { env: env(ledger) });
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    expect(call.priced_as).toBe('openai/gpt-4o-mini@flex');
    expect(call.price_note).toBeUndefined();
    expect(call.cost_usd).toBeCloseTo((1000 * 0.1 + 200 * 0.4) / 1e6, 12);
  });
});

describe('web searches', () => {
  it('Anthropic server_tool_use.web_search_requests: counted in the summary, priced per search', async () => {
    const ledger = join(dir, 'l.jsonl');
    fake.setDefault({ usage: { input: 1000, output: 100 }, webSearches: 2 });
    const r = await runCli(['run', '-m', 'claude-3-5-haiku-latest', '--json', 'what is new?'], { env: env(ledger) });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const h = rates('anthropic', 'claude-3-5-haiku-latest');
    expect(j.calls[0].usage.web_search_requests).toBe(2);
    expect(j.web_search_requests).toBe(2);
    expect(j.calls[0].cost_usd).toBeCloseTo((1000 * h.input_mtok! + 100 * h.output_mtok!) / 1e6 + (2 * h.web_searches_kcount!) / 1000, 12);
    expect(JSON.parse(readFileSync(ledger, 'utf8').trim()).usage.web_search_requests).toBe(2);

    const text = await runCli(['run', '-m', 'claude-3-5-haiku-latest', 'what is new?'], { env: env(join(dir, 't.jsonl')) });
    expect(text.stderr).toMatch(/│ Web searches\s+│\s+2 │ reported, priced per search\s+│/);
  });

  it('OpenAI Responses web_search_call items: counted and priced where the model has a rate', async () => {
    fake.setDefault({ usage: { input: 500, output: 50 }, webSearches: 3 });
    const r = await runCli(['run', '--api', 'responses', '-m', 'gpt-4o-mini', '--json', 'search'], { env: env(join(dir, 'l.jsonl')) });
    expect(r.code, r.stderr).toBe(0);
    const call = JSON.parse(r.stdout).calls[0];
    const m = rates('openai', 'gpt-4o-mini');
    expect(call.usage.web_search_requests).toBe(3);
    expect(call.cost_usd).toBeCloseTo((500 * m.input_mtok! + 50 * m.output_mtok!) / 1e6 + (3 * m.web_searches_kcount!) / 1000, 12);
  });

  it('a model without a search rate: the searches are unpriced and the cost unknown, never short', async () => {
    const h = rates('anthropic', 'claude-3-haiku');
    expect(h.web_searches_kcount).toBeUndefined();
    fake.setDefault({ usage: { input: 1000, output: 100 }, webSearches: 1 });
    const r = await runCli(['run', '-m', 'claude-3-haiku-20240307', 'hi'], { env: env(join(dir, 'l.jsonl')) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('cost unknown: anthropic/claude-3-haiku has no web_search price');
    expect(r.stderr).toMatch(/Total Cost \(USD\)\s+│\s+unknown\s+│ incomplete: see below/);
  });
});

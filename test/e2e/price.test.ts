import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('llm-usage price', () => {
  it('shows a model\'s prices per 1M and 1K, context window and the table\'s source', async () => {
    const r = await runCli(['price', '--model', 'gpt-4-turbo']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/│ Provider\s+│ openai\s+│/);
    expect(r.stdout).toMatch(/│ Matched model\s+│ gpt-4-turbo\s+│/);
    expect(r.stdout).toMatch(/│ Context window\s+│ 128,000 tokens\s+│/);
    expect(r.stdout).toMatch(/│ Input per 1M \/ 1K\s+│ \$10\.00 \/ \$0\.01\s+│/);
    expect(r.stdout).toMatch(/│ Output per 1M \/ 1K\s+│ \$30\.00 \/ \$0\.03\s+│/);
    expect(r.stdout).toMatch(/Prices per 1M tokens from @pydantic\/genai-prices \d+\.\d+\.\d+ \(synced \d{4}-\d{2}-\d{2}\)/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('costs a call part by part: the seed\'s $0.01925', async () => {
    const r = await runCli(['price', '--model', 'gpt-4-turbo', '--prompt-tokens', '1412', '--completion-tokens', '171']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│ Input \(uncached\)\s+│\s+1,412 │\s+\$10\.00 \/ 1M │\s+\$0\.01412 │/);
    expect(r.stdout).toMatch(/│ Output\s+│\s+171 │\s+\$30\.00 \/ 1M │\s+\$0\.00513 │/);
    expect(r.stdout).toMatch(/│ Total\s+│\s+1,583 │\s+│\s+\$0\.01925 │/);
    expect(r.stdout).not.toMatch(/e-0|00000000/);
  });

  it('prices Anthropic caching with --cached-tokens and --cache-write-tokens', async () => {
    const r = await runCli(['price', '-m', 'claude-3-5-sonnet-20241022', '-i', '1520', '--cached-tokens', '1000', '--cache-write-tokens', '500', '-o', '100', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.cost_usd).toBeCloseTo(0.003735, 12);
    expect(j.provider).toBe('anthropic');
    expect(j.prices_per_million).toEqual({ input: 3, cached_input: 0.3, cache_write: 3.75, cache_write_1h: 6, output: 15 });
  });

  it('--json gives one object for one model, an array for several', async () => {
    const one = await runCli(['price', '--model', 'gpt-3.5-turbo-0125', '--input-tokens', '11', '--output-tokens', '16', '--json']);
    expect(one.code).toBe(0);
    const j = JSON.parse(one.stdout);
    expect(j).toMatchObject({ model: 'gpt-3.5-turbo-0125', provider: 'openai', matched_model: 'gpt-3.5-turbo', context_window: expect.any(Number) });
    expect(j.prices_per_million).toEqual({ input: 0.5, cached_input: null, cache_write: null, cache_write_1h: null, output: 1.5 });
    expect(j.cost_usd).toBeCloseTo(0.0000295, 15);

    const many = await runCli(['price', '--model', 'gpt-4o', '--model', 'claude-3-haiku-20240307,davinci-002', '--json']);
    expect(many.code).toBe(0);
    const arr = JSON.parse(many.stdout);
    expect(arr.map((q: { provider: string; matched_model: string }) => `${q.provider}/${q.matched_model}`)).toEqual([
      'openai/gpt-4o',
      'anthropic/claude-3-haiku',
      'openai/davinci-002',
    ]);
  });

  it('shows several models side by side', async () => {
    const r = await runCli(['price', '--model', 'gpt-4o,gpt-4o-mini']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│\s+│ gpt-4o\s+│ gpt-4o-mini\s+│/);
    expect(r.stdout).toMatch(/│ Input per 1M \/ 1K\s+│ \$2\.50 \/ \$0\.0025\s+│ \$0\.15 \/ \$0\.00015\s+│/);
  });

  it('lists known models filtered by provider and a search word', async () => {
    const r = await runCli(['price', '--provider', 'anthropic', 'haiku']);
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('│ anthropic'));
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.every((l) => /haiku/.test(l))).toBe(true);
    expect(r.stdout).toMatch(/\d+ models\. Prices per 1M tokens from/);
  });

  it('a fine-tuned gpt-4.1 bills at OpenAI\'s published fine-tuning rates, its base model at its own', async () => {
    // ft:gpt-4.1-2025-04-14: $3.00 input, $0.75 cached input, $12.00 output per 1M (scripts/pricing-overlay.json).
    const r = await runCli(['price', '--model', 'ft:gpt-4.1-2025-04-14:acme::abc,gpt-4.1-2025-04-14', '-i', '10000', '--cached-tokens', '4000', '-o', '2000', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const [ft, base] = JSON.parse(r.stdout);
    expect(ft).toMatchObject({ model: 'ft:gpt-4.1-2025-04-14:acme::abc', provider: 'openai', matched_model: 'ft:gpt-4.1' });
    expect(ft.prices_per_million).toEqual({ input: 3, cached_input: 0.75, cache_write: null, cache_write_1h: null, output: 12 });
    expect(ft.cost_usd).toBeCloseTo((6000 * 3 + 4000 * 0.75 + 2000 * 12) / 1e6, 15);
    expect(ft.price_comments).toMatch(/^Overlay: .*https:\/\/openai\.com\/api\/pricing\/.*read 2026-12-02/);
    expect(base).toMatchObject({ model: 'gpt-4.1-2025-04-14', provider: 'openai', matched_model: 'gpt-4.1' });
    const own = base.prices_per_million;
    expect(own.input).not.toBe(3);
    expect(base.cost_usd).toBeCloseTo((6000 * own.input + 4000 * own.cached_input + 2000 * own.output) / 1e6, 15);
  });

  it('fine-tuned davinci-002, o4-mini and gpt-5-search-api are known, at their published rates', async () => {
    const r = await runCli(['price', '--model', 'ft:davinci-002:acme::abc,ft:o4-mini-2025-04-16:acme:grader:abc,gpt-5-search-api', '-i', '1000', '-o', '100', '--json']);
    expect(r.code).toBe(0);
    const quotes = JSON.parse(r.stdout) as { matched_model: string; prices_per_million: { input: number; output: number }; cost_usd: number }[];
    expect(quotes.map((q) => [q.matched_model, q.prices_per_million.input, q.prices_per_million.output])).toEqual([
      ['ft:davinci-002', 12, 12],
      ['ft:o4-mini', 4, 16],
      ['gpt-5-search-api', 1.25, 10],
    ]);
    expect(quotes.map((q) => q.cost_usd)).toEqual([
      expect.closeTo((1000 * 12 + 100 * 12) / 1e6, 15),
      expect.closeTo((1000 * 4 + 100 * 16) / 1e6, 15),
      expect.closeTo((1000 * 1.25 + 100 * 10) / 1e6, 15),
    ]);
  });

  it('an unknown model: exit 2, one line naming it and close names, nothing on stdout', async () => {
    const r = await runCli(['price', '--model', 'gpt-4-turbo-x', '-i', '10']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llm-usage: unknown model "gpt-4-turbo-x"; close: .*gpt-4-turbo/);
  });

  it('bad input is exit 2 with one line', async () => {
    for (const args of [
      ['price', '--model', 'gpt-4o', '--input-tokens', 'lots'],
      ['price', '--model', 'gpt-4o', '--input-tokens', '10', '--cached-tokens', '20'],
      ['price', '--provider', 'nope'],
      ['price', '--bogus'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^llm-usage: /);
    }
  });

  it('layers a user price file with --pricing or LLM_USAGE_PRICING; a malformed one is exit 2 naming the entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-usage-e2e-'));
    const good = join(dir, 'prices.json');
    writeFileSync(good, JSON.stringify({ providers: [{ id: 'mycorp', name: 'My Corp', models: [{ id: 'house', match: { equals: 'house' }, prices: { input_mtok: 1, output_mtok: 2 } }] }] }));
    const viaFlag = await runCli(['price', '--model', 'house', '-i', '1000000', '-o', '1000000', '--pricing', good, '--json']);
    expect(viaFlag.code).toBe(0);
    expect(JSON.parse(viaFlag.stdout).cost_usd).toBe(3);
    const viaEnv = await runCli(['price', '--model', 'house', '--json'], { env: { LLM_USAGE_PRICING: good } });
    expect(JSON.parse(viaEnv.stdout).provider).toBe('mycorp');

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ providers: [{ id: 'mycorp', models: [{ id: 'house', match: { equals: 'house' }, prices: { input_mtok: -1 } }] }] }));
    const r = await runCli(['price', '--model', 'gpt-4o', '--pricing', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('providers[0] ("mycorp").models[0] ("house").prices.input_mtok must be a non-negative number');
  });

  it('colours only when asked for (FORCE_COLOR) and never with NO_COLOR', async () => {
    const forced = await runCli(['price', '--model', 'gpt-4o'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/\x1b\[1mgpt-4o\x1b\[22m/);
    const both = await runCli(['price', '--model', 'gpt-4o'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(both.stdout).not.toMatch(/\x1b\[/);
  });

  it('--help has examples and --version prints the version', async () => {
    const help = await runCli(['price', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('cached and cache-write ones included');
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

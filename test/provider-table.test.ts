// The provider table (src/providers/descriptors.ts): every provider has one complete row, and
// plan.ts reads rows rather than naming providers, so adding a provider is adding a row. Pure.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPAT_PROVIDERS } from '../src/providers/compat.js';
import { PROVIDERS } from '../src/providers/descriptors.js';
import type { ProviderName } from '../src/providers/types.js';

// A Record, so that a ProviderName added to types.ts without a row here fails to type-check.
const NAMES: Record<ProviderName, true> = {
  openai: true, anthropic: true, azure: true, bedrock: true, google: true,
  ...(Object.fromEntries(COMPAT_PROVIDERS.map((row) => [row.id, true])) as Record<(typeof COMPAT_PROVIDERS)[number]['id'], true>),
};

const MODELS = ['gpt-4o', 'gpt-3.5-turbo-instruct', 'claude-3-haiku-20240307', 'anthropic.claude-v2', 'meta.llama3-70b-instruct-v1:0', 'azure/my-deployment', 'gemini-2.5-flash', 'google/gemini-2.5-pro', 'gemini/gemini-2.5-pro', 'groq/llama-3.1-8b-instant', 'openrouter/google/gemini-2.5-flash', 'ollama/llama3.1:8b', 'llama3.1:8b'];

describe('the provider table', () => {
  it('has exactly one row per ProviderName, and no alias that is another row\'s name', () => {
    const names = PROVIDERS.map((row) => row.name);
    expect([...names].sort()).toEqual(Object.keys(NAMES).sort());
    const aliases = PROVIDERS.flatMap((row) => row.aliases ?? []);
    expect(aliases.filter((alias) => (names as string[]).includes(alias))).toEqual([]);
    expect(new Set(aliases).size).toBe(aliases.length);
  });

  it('gives every row APIs that include its default, a key or what it takes instead, and an example base URL that is one', () => {
    for (const row of PROVIDERS) {
      expect(row.apis.length, row.name).toBeGreaterThan(0);
      for (const model of MODELS) expect(row.apis, `${row.name} ${model}`).toContain(row.defaultApi(model, undefined));
      expect(row.keyVars.length > 0 || row.keyHint !== undefined, row.name).toBe(true);
      expect(['http:', 'https:'], row.name).toContain(new URL(row.exampleBaseUrl).protocol);
      expect(row.refusedApi('nonsense'), row.name).toMatch(/^--api.*nonsense/);
    }
  });

  it('lets at most one row select a model name, and exactly one row take the rest', () => {
    expect(PROVIDERS.filter((row) => !row.selects)).toHaveLength(1);
    for (const model of MODELS) expect(PROVIDERS.filter((row) => row.selects?.(model)).length, model).toBeLessThanOrEqual(1);
  });

  it('has the compatible providers\' rows as compat.ts\'s table says', () => {
    for (const compat of COMPAT_PROVIDERS) {
      const row = PROVIDERS.find((r) => r.name === compat.id);
      expect(row, compat.id).toBeDefined();
      expect(row?.keyVars).toEqual(compat.keyVar ? [compat.keyVar] : []);
      expect(row?.exampleBaseUrl).toBe(compat.baseUrl);
      expect(row?.apis).toEqual(compat.completions ? ['chat', 'completions'] : ['chat']);
      expect(row?.baseUrlVars).toEqual([('sdk' in compat ? compat.sdk.variable : undefined), ('hostVar' in compat ? compat.hostVar : undefined)].filter(Boolean));
      expect(row?.takesAnyModelName).toBe(true);
      expect(row?.prefixedModel?.(`${compat.id}/some/model`)).toBe('some/model');
    }
  });

  it('is all plan.ts knows of providers: its source names none of them', () => {
    const source = readFileSync(new URL('../src/plan.ts', import.meta.url), 'utf8');
    for (const name of PROVIDERS.flatMap((row) => [row.name, ...(row.aliases ?? [])])) {
      expect(source, name).not.toMatch(new RegExp(`['"\`]${name}['"\`]`));
    }
    expect(source).not.toMatch(/isCompat|azureConnection|googleKeyOf|bedrockApiOf/);
  });
});

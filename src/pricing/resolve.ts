import { UsageError } from '../errors.js';
import { staleTableHint } from './source.js';
import { matches } from './table.js';
import type { MatchLogic, ModelInfo, PriceTable, ProviderInfo } from './types.js';

/** A model name resolved to one entry of the price table, and how it got there. */
export interface Resolved {
  asked: string;
  provider: ProviderInfo;
  model: ModelInfo;
  /** How the name was read, when not verbatim: "dated snapshot", "Bedrock region prefix", "via azure's fallback to openai". */
  via: string[];
}

// Bedrock model ids: an optional cross-region inference prefix, then vendor.model (anthropic.claude-v2).
const BEDROCK_ID = /^(?:(us|us-gov|eu|apac|au|jp|ca|sa|global)\.)?(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer|stability|moonshot|google|minimax)\.[a-z0-9]/i;
 /**
 * Whether a model name is a Bedrock model id: a vendor-dotted id (`anthropic.claude-v2:1`,
 * `amazon.nova-pro-v1:0`), with or without a cross-region inference prefix (`us.`, `eu.`, `apac.`,
 * `global.`), or a Bedrock ARN (foundation model, inference profile, provisioned model).
 */
export function isBedrockModelId(name: string): boolean {
  return BEDROCK_ID.test(name.trim()) || BEDROCK_ARN.test(name.trim());
}

const BEDROCK_ARN = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:\d*:[a-z-]+\/\S+$/;

// Upstream reads "-20240409" in a name as the date "-2024-04-09" when the first spelling is unknown.
const COMPACT_DATE = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

/**
 * Finds the price entry for a model name as providers and users send it: aliases and dated
 * snapshots, fine-tuned names (`ft:base:org:suffix:id`, priced by upstream's fine-tuning rules),
 * Azure deployment names, Bedrock ids with or without a region prefix. Only the table's own
 * match rules decide: no substring guessing. Returns null for an unknown model.
 */
export function resolveModel(table: PriceTable, asked: string, providerId?: string, prefer?: string): Resolved | null {
  // A table does not change once loaded, and a proxy prices the same few names over and over.
  const memo = memoOf(table);
  const key = `${asked}\u0000${providerId ?? ''}\u0000${prefer ?? ''}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const found = lookUp(table, asked, providerId, prefer);
  // Bounded: names come from requests, and a client could send ever new ones, or long ones.
  if (asked.length > MEMO_NAME_LENGTH) return found;
  if (memo.size >= MEMO_NAMES) memo.clear();
  memo.set(key, found);
  return found;
}

const memos = new WeakMap<PriceTable, Map<string, Resolved | null>>();
const MEMO_NAMES = 10_000;
const MEMO_NAME_LENGTH = 256;

function memoOf(table: PriceTable): Map<string, Resolved | null> {
  let memo = memos.get(table);
  if (!memo) memos.set(table, (memo = new Map()));
  return memo;
}

function lookUp(table: PriceTable, asked: string, providerId?: string, prefer?: string): Resolved | null {
  const name = asked.trim();
  if (!name) return null;
  const fineTuned = /^ft:/i.test(name);
  for (const { provider, via: providerVia } of searchOrder(table, name, providerId, prefer)) {
    for (const { candidate, via } of spellings(name)) {
      const model = provider.models.find((m) => (fineTuned ? matchesFineTuned(m.match, candidate) : matches(m.match, candidate)));
      if (model) return { asked, provider, model, via: [...via, ...providerVia] };
    }
  }
  return null;
}

// Providers whose calls are priced under their own entry of the table (and the providers it
// falls back to), never another provider's: Azure bills its own prices for what it serves.
const OWN_PRICES = new Set(['azure']);

/**
 * The price entry for a model a call to `provider` named: under that provider only when its
 * prices are its own (azure), else preferring it. A table without that provider prices nothing.
 */
export function resolveForCall(table: PriceTable, asked: string, provider: string): Resolved | null {
  if (!OWN_PRICES.has(provider)) return resolveModel(table, asked, undefined, provider);
  return findProvider(table, provider) ? resolveModel(table, asked, provider) : null;
}

/**
 * A fine-tuned model (`ft:base:org:suffix:id`) bills at its own prices, never its base model's:
 * only a rule written for fine-tuned names (one whose value says "ft:") may match one. Without
 * this, Azure's `contains: "o4-mini"` priced `ft:o4-mini-...` at base o4-mini rates.
 */
function matchesFineTuned(rule: MatchLogic, name: string): boolean {
  if ('or' in rule) return rule.or.some((r) => matchesFineTuned(r, name));
  if ('and' in rule) return JSON.stringify(rule).toLowerCase().includes('ft:') && matches(rule, name);
  const value = Object.values(rule)[0] as string;
  return value.toLowerCase().includes('ft:') && matches(rule, name);
}

/** Like resolveModel, but an unknown model is a UsageError naming up to three close names. */
export function requireModel(table: PriceTable, asked: string, providerId?: string): Resolved {
  const found = resolveModel(table, asked, providerId);
  if (found) return found;
  const close = closeModelNames(table, asked, providerId);
  const scope = providerId ? ` for provider ${providerId}` : '';
  const hint = close.length ? `; close: ${close.join(', ')}` : '';
  const fineTuned = asked.startsWith('ft:') ? ' (fine-tuned models have their own prices)' : '';
  throw new UsageError(
    `unknown model "${asked}"${scope}${fineTuned}${hint}. Check the name, or add its price with --pricing FILE${staleTableHint(table.source, new Date(), '; ')}`,
  );
}

/** The provider ids in the table, for messages. */
export function providerIds(table: PriceTable): string[] {
  return table.providers.map((p) => p.id);
}

export function requireProvider(table: PriceTable, providerId: string): ProviderInfo {
  const p = findProvider(table, providerId);
  if (!p) throw new UsageError(`unknown provider "${providerId}"; known: ${providerIds(table).join(', ')}`);
  return p;
}

function findProvider(table: PriceTable, id: string): ProviderInfo | undefined {
  const want = id.trim().toLowerCase();
  return table.providers.find((p) => p.id.toLowerCase() === want);
}

/**
 * Providers to search, in order: only `providerId` (and its fallbacks) when given; else the
 * `prefer`red one (the provider a call went to), aws for Bedrock-shaped ids, then the table's order.
 */
function* searchOrder(table: PriceTable, name: string, providerId?: string, prefer?: string): Generator<{ provider: ProviderInfo; via: string[] }> {
  if (providerId) {
    const provider = requireProvider(table, providerId);
    yield { provider, via: [] };
    // Azure serves other providers' models at their prices, as upstream's fallback says.
    for (const id of provider.fallback_model_providers ?? []) {
      const fallback = findProvider(table, id);
      if (fallback) yield { provider: fallback, via: [`priced as ${fallback.id} (${provider.id} falls back to it)`] };
    }
    return;
  }
  const first = BEDROCK_ID.test(name) ? findProvider(table, 'aws') : prefer ? findProvider(table, prefer) : undefined;
  if (first) yield { provider: first, via: [] };
  for (const provider of table.providers) if (provider !== first) yield { provider, via: [] };
}

function* spellings(name: string): Generator<{ candidate: string; via: string[] }> {
  yield { candidate: name, via: [] };
  const dated = name.replace(COMPACT_DATE, (whole, dash: string, y: string, m: string, d: string) => {
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    return date.getUTCDate() === Number(d) ? `${dash}${y}-${m}-${d}` : whole;
  });
  if (dated !== name) yield { candidate: dated, via: ['dated snapshot'] };
  const region = BEDROCK_ID.exec(name)?.[1];
  if (region) yield { candidate: name.slice(region.length + 1), via: ['Bedrock region prefix'] };
}

/** Up to `n` known model names nearest to `asked` by edit distance, for "did you mean". */
export function closeModelNames(table: PriceTable, asked: string, providerId?: string, n = 3): string[] {
  const want = asked.trim().toLowerCase();
  const scope = providerId ? table.providers.filter((p) => p.id === providerId) : table.providers;
  const names = new Set<string>();
  for (const p of scope) {
    for (const m of p.models) {
      names.add(m.id.toLowerCase());
      for (const alias of exactNames(m.match)) names.add(alias.toLowerCase());
    }
  }
  const limit = Math.max(3, Math.ceil(want.length / 2));
  return [...names]
    .map((name) => ({ name, d: editDistance(want, name) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, n)
    .map((x) => x.name);
}

function exactNames(rule: MatchLogic): string[] {
  if ('equals' in rule) return [rule.equals];
  if ('or' in rule) return rule.or.flatMap(exactNames);
  return [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = row;
  }
  return prev[b.length] as number;
}

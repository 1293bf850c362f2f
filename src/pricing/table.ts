import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import envPaths from 'env-paths';
import { fsProblem, UsageError } from '../errors.js';
import type { ConditionalPrice, MatchLogic, ModelInfo, ModelPrice, PriceTable, ProviderInfo } from './types.js';

const BUILT_IN = new URL('../../pricing.json', import.meta.url);

/** Where `llm-usage pricing update` saves the table it downloads: the user's data directory. */
export function downloadedTablePath(): string {
  return join(envPaths('llm-usage', { suffix: '' }).data, 'pricing.json');
}

/**
 * The price table: the downloaded table (`llm-usage pricing update`) when there is one newer than
 * the built-in pricing.json, else the built-in one; then the user's file (if any) merged on top.
 * A user's provider is searched before the built-in ones; a user's model replaces a built-in
 * model of the same id and is otherwise put first in its provider. Nothing is downloaded here.
 */
export function loadPriceTable(userFile?: string): PriceTable {
  const table = tableInUse().table;
  if (!userFile) return table;
  return mergeTables(table, readUserPricing(userFile), userFile);
}

/** Why a downloaded table is not the one in use. */
export type SkippedDownload = { file: string; why: 'older' | 'damaged'; detail: string };

/**
 * The table every command uses (before any --pricing file), and, when a downloaded table exists
 * but is not used, why not: it is older than the built-in table, or it cannot be read (it is
 * written atomically, so only a hand edit or a disk fault damages it). Reads one extra file when
 * a download exists; costs one failed stat when none does.
 */
export function tableInUse(): { table: PriceTable; skipped: SkippedDownload | null } {
  const builtInText = readFileSync(BUILT_IN, 'utf8');
  const builtIn = () => builtInOnly(builtInText);
  const file = downloadedTablePath();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { table: builtIn(), skipped: null };
    return { table: builtIn(), skipped: { file, why: 'damaged', detail: fsProblem(e) } };
  }
  let downloaded: PriceTable;
  try {
    downloaded = JSON.parse(text) as PriceTable;
    if (!isObject(downloaded) || !Array.isArray(downloaded.providers) || typeof downloaded.source?.downloaded !== 'string') throw new Error('not a saved price table');
  } catch (e) {
    return { table: builtIn(), skipped: { file, why: 'damaged', detail: (e as Error).message } };
  }
  // The built-in table is written by scripts/sync-pricing.mjs with its source first: its date is near the start.
  const synced = /"synced":\s*"(\d{4}-\d{2}-\d{2})"/.exec(builtInText.slice(0, 4096))?.[1] ?? '';
  if (downloaded.source.downloaded.slice(0, 10) < synced) {
    return { table: builtIn(), skipped: { file, why: 'older', detail: `downloaded ${downloaded.source.downloaded.slice(0, 10)}, built-in synced ${synced}` } };
  }
  return { table: { ...downloaded, source: { ...downloaded.source, origin: 'downloaded', file } }, skipped: null };
}

function builtInOnly(text: string): PriceTable {
  const table = JSON.parse(text) as PriceTable;
  return { ...table, source: { ...table.source, origin: 'built-in' } };
}

export function mergeTables(base: PriceTable, userProviders: ProviderInfo[], file: string): PriceTable {
  const merged = new Map(base.providers.map((p) => [p.id, p]));
  const userFirst: ProviderInfo[] = [];
  for (const u of userProviders) {
    const existing = merged.get(u.id);
    if (existing) {
      const ids = new Set(u.models.map((m) => m.id));
      merged.set(u.id, { ...existing, ...u, models: [...u.models, ...existing.models.filter((m) => !ids.has(m.id))] });
    } else {
      userFirst.push(u);
    }
  }
  return {
    source: { ...base.source, user_files: [...(base.source.user_files ?? []), file] },
    providers: [...userFirst, ...merged.values()],
  };
}

const MAX_PRICING_BYTES = 64 * 1024 * 1024;

/** Reads and validates a user's pricing file; any fault is one UsageError naming the file and entry. */
export function readUserPricing(file: string): ProviderInfo[] {
  const fix = 'check the path given to --pricing or LLM_USAGE_PRICING';
  let text: string;
  try {
    // A device (/dev/zero) would be read forever: only files and pipes, and no file too large to be prices.
    const stat = statSync(file);
    if (stat.isCharacterDevice() || stat.isBlockDevice()) throw new UsageError(`pricing file ${file} is a device, not a file: ${fix}`);
    if (stat.size > MAX_PRICING_BYTES) throw new UsageError(`pricing file ${file} is ${stat.size} bytes, more than ${MAX_PRICING_BYTES} (a price file is a few KB): ${fix}`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read pricing file ${file}: ${fsProblem(e)}: ${fix}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`pricing file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const providers = Array.isArray(data) ? data : isObject(data) ? data.providers : undefined;
  if (!Array.isArray(providers)) {
    throw new UsageError(`pricing file ${file}: expected {"providers": [...]} or an array of providers, as in pricing.json`);
  }
  if (providers.length === 0) throw new UsageError(`pricing file ${file} has no providers: add one with its models, as in the README, or leave the file out`);
  const rules: UserRules = { regexes: new Map(), priceKeys: builtInPriceKeys() };
  const problem = providers.map((p, i) => providerProblem(p, `providers[${i}]`, rules)).find((x) => x !== null) ?? duplicateProblem(providers as ProviderInfo[]);
  if (problem) throw new UsageError(`pricing file ${file}: ${problem}`);
  // Only now, with the whole file valid: its regex rules match in linear time from here on.
  for (const [rule, compiled] of rules.regexes) safeRegexes.set(rule, compiled);
  return (providers as ProviderInfo[]).map((p) => ({ ...p, name: p.name ?? p.id }));
}

/**
 * What a user's file is held to beyond the built-in table: its regexes must compile with RE2
 * (linear-time matching, so no pattern can hang the tool), and its price keys must be ones the
 * built-in table uses (a typo such as "inptu_mtok" would otherwise be a price silently ignored).
 */
interface UserRules {
  regexes: Map<object, Linear>;
  priceKeys: Set<string>;
}

interface Linear {
  matcher(input: string): { find(): boolean };
}

/** User regex rules, compiled with RE2JS when their file was read. Built-in rules use RegExp. */
const safeRegexes = new WeakMap<object, Linear>();

let re2: { compile(pattern: string): Linear } | undefined;

/** re2js, loaded only when a user's file has a regex rule. */
function compileLinear(pattern: string): Linear {
  re2 ??= (createRequire(import.meta.url)('re2js') as { RE2JS: { compile(pattern: string): Linear } }).RE2JS;
  return re2.compile(pattern);
}

let priceKeys: Set<string> | undefined;

/** Every price key the built-in table uses: the keys upstream's schema prices. */
function builtInPriceKeys(): Set<string> {
  if (priceKeys) return priceKeys;
  const keys = new Set<string>();
  for (const provider of (JSON.parse(readFileSync(BUILT_IN, 'utf8')) as PriceTable).providers) {
    for (const model of provider.models) {
      for (const prices of Array.isArray(model.prices) ? model.prices.map((c) => c.prices) : [model.prices]) {
        for (const key of Object.keys(prices)) keys.add(key);
      }
    }
  }
  priceKeys = keys;
  return keys;
}

const PROVIDER_KEYS = new Set(['id', 'name', 'api_pattern', 'pricing_urls', 'model_match', 'provider_match', 'fallback_model_providers', 'price_comments', 'description', 'models', 'extractors']);
const MODEL_KEYS = new Set(['id', 'name', 'description', 'match', 'context_window', 'deprecated', 'price_comments', 'prices']);

/** A provider id given twice, or a model id given twice in one provider: which one would count? */
function duplicateProblem(providers: ProviderInfo[]): string | null {
  const providerAt = new Map<string, number>();
  for (const [i, p] of providers.entries()) {
    const before = providerAt.get(p.id.toLowerCase());
    if (before !== undefined) return `providers[${i}] ("${p.id}") repeats providers[${before}]: give each provider once, with all its models`;
    providerAt.set(p.id.toLowerCase(), i);
    const modelAt = new Map<string, number>();
    for (const [j, m] of p.models.entries()) {
      const earlier = modelAt.get(m.id);
      if (earlier !== undefined) return `providers[${i}] ("${p.id}").models[${j}] ("${m.id}") repeats models[${earlier}]: give each model id once`;
      modelAt.set(m.id, j);
    }
  }
  return null;
}

/**
 * Returns a description of the first fault in a provider entry, or null if it is well formed.
 * With `user` rules (a user's file), also its keys and regexes; the built-in table is checked
 * without them (its regexes use lookaheads, which RegExp runs and RE2 does not).
 */
export function providerProblem(p: unknown, at: string, user?: UserRules): string | null {
  if (!isObject(p)) return `${at} must be an object`;
  if (typeof p.id !== 'string' || !p.id.trim()) return `${at}.id must be a non-empty string`;
  const where = `${at} ("${p.id}")`;
  if (user) {
    const unknown = unknownKey(p, PROVIDER_KEYS);
    if (unknown) return `${where} has unknown key "${unknown}"; known: ${[...PROVIDER_KEYS].join(', ')}`;
  }
  for (const key of ['name', 'description', 'price_comments', 'api_pattern'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'string') return `${where}.${key} must be a string`;
  }
  for (const key of ['fallback_model_providers', 'pricing_urls'] as const) {
    if (p[key] !== undefined && !(Array.isArray(p[key]) && p[key].every((x) => typeof x === 'string'))) return `${where}.${key} must be a list of strings`;
  }
  for (const key of ['model_match', 'provider_match'] as const) {
    if (p[key] !== undefined) {
      const problem = matchProblem(p[key], `${where}.${key}`, user);
      if (problem) return problem;
    }
  }
  if (!Array.isArray(p.models)) return `${where}.models must be an array`;
  if (user && p.models.length === 0) return `${where}.models is empty: give each model with its prices, or leave the provider out`;
  for (const [i, m] of p.models.entries()) {
    const problem = modelProblem(m, `${where}.models[${i}]`, user);
    if (problem) return problem;
  }
  return null;
}

function modelProblem(m: unknown, at: string, user?: UserRules): string | null {
  if (!isObject(m)) return `${at} must be an object`;
  if (typeof m.id !== 'string' || !m.id.trim()) return `${at}.id must be a non-empty string`;
  const where = `${at} ("${m.id}")`;
  if (user) {
    const unknown = unknownKey(m, MODEL_KEYS);
    if (unknown) return `${where} has unknown key "${unknown}"; known: ${[...MODEL_KEYS].join(', ')}`;
  }
  for (const key of ['name', 'description', 'price_comments'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string') return `${where}.${key} must be a string`;
  }
  if (m.deprecated !== undefined && typeof m.deprecated !== 'boolean') return `${where}.deprecated must be true or false`;
  const match = matchProblem(m.match, `${where}.match`, user);
  if (match) return match;
  if (m.context_window !== undefined && !isCount(m.context_window)) return `${where}.context_window must be a whole number${tooLarge(m.context_window)}`;
  if (Array.isArray(m.prices)) {
    if (m.prices.length === 0) return `${where}.prices must not be an empty list`;
    for (const [i, c] of (m.prices as unknown[]).entries()) {
      if (!isObject(c)) return `${where}.prices[${i}] must be {"constraint": ..., "prices": {...}}`;
      const constraint = c.constraint;
      if (constraint !== undefined && !(isObject(constraint) && (isDate(constraint.start_date) || (isTimeOfDay(constraint.start_time) && isTimeOfDay(constraint.end_time))))) {
        return `${where}.prices[${i}].constraint must have a start_date (YYYY-MM-DD) or start_time and end_time (HH:MM:SSZ)`;
      }
      const problem = pricesProblem(c.prices, `${where}.prices[${i}].prices`, user);
      if (problem) return problem;
    }
    return null;
  }
  return pricesProblem(m.prices, `${where}.prices`, user);
}

function pricesProblem(prices: unknown, at: string, user?: UserRules): string | null {
  if (!isObject(prices)) return `${at} must be an object of prices such as {"input_mtok": 2.5, "output_mtok": 10}`;
  for (const [key, value] of Object.entries(prices)) {
    if (value === undefined) continue;
    if (user && !user.priceKeys.has(key)) return `${at} has unknown price "${key}"; known: ${[...user.priceKeys].join(', ')}`;
    if (typeof value === 'number') {
      if (!(Number.isFinite(value) && value >= 0)) return `${at}.${key} must be a non-negative number${tooLarge(value)}, got ${JSON.stringify(value)}`;
      continue;
    }
    if (isObject(value) && typeof value.base === 'number' && Array.isArray(value.tiers)) {
      const bad = (value.tiers as unknown[]).findIndex((t) => !(isObject(t) && isCount(t.start) && isPrice(t.price)));
      if (!isPrice(value.base) || bad >= 0) return `${at}.${key} tiers must be [{"start": tokens, "price": per-1M}] with non-negative, finite numbers`;
      continue;
    }
    return `${at}.${key} must be a non-negative number or {"base": n, "tiers": [...]}, got ${JSON.stringify(value)}`;
  }
  // As upstream: a one-hour cache-write price needs the plain cache-write price it refines.
  if (prices.cache_write_1h_mtok !== undefined && prices.cache_write_mtok === undefined) {
    return `${at} has cache_write_1h_mtok without cache_write_mtok`;
  }
  return null;
}

// Deeper and/or nesting than any real rule needs; it also bounds the recursion here and in matches().
const MAX_RULE_DEPTH = 16;

function matchProblem(m: unknown, at: string, user?: UserRules, depth = 0): string | null {
  if (!isObject(m)) return `${at} must be a match rule such as {"equals": "my-model"}`;
  if (depth > MAX_RULE_DEPTH) return `${at} nests "or"/"and" rules more than ${MAX_RULE_DEPTH} deep: flatten them`;
  const keys = Object.keys(m);
  if (keys.length !== 1) return `${at} must have exactly one of equals, starts_with, ends_with, contains, regex, or, and`;
  const key = keys[0] as string;
  const value = m[key];
  if (key === 'or' || key === 'and') {
    if (!Array.isArray(value) || value.length === 0) return `${at}.${key} must be a non-empty list of rules`;
    for (const [i, sub] of value.entries()) {
      const problem = matchProblem(sub, `${at}.${key}[${i}]`, user, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (!['equals', 'starts_with', 'ends_with', 'contains', 'regex'].includes(key)) return `${at} has unknown rule "${key}"`;
  if (typeof value !== 'string') return `${at}.${key} must be a string`;
  if (user && value === '') return `${at}.${key} is empty, which would match every model: give the name or part of it`;
  if (key === 'regex') {
    try {
      if (user) user.regexes.set(m, compileLinear(value));
      else new RegExp(value);
    } catch (e) {
      // RE2 refuses what cannot match in linear time: backreferences and lookarounds.
      const why = user ? `: ${(e as Error).message.replace(/^error parsing regexp: /, '')} (RE2 syntax: no lookarounds or backreferences)` : '';
      return `${at}.regex is not a valid regular expression${why}`;
    }
  }
  return null;
}

function unknownKey(o: Record<string, unknown>, known: Set<string>): string | undefined {
  return Object.keys(o).find((k) => !known.has(k));
}

/** JSON numbers such as 1e309 parse to Infinity: name that, rather than print it as null. */
function tooLarge(x: unknown): string {
  return typeof x === 'number' && !Number.isFinite(x) ? ' (the value given is out of range)' : '';
}

/** The price in force at `at` (now, by default): the last dated price that has started, as upstream chooses. */
export function priceAt(model: ModelInfo, at?: Date): ModelPrice {
  if (!Array.isArray(model.prices)) return model.prices;
  // The time is read only for a price that changes with it (a proxy prices thousands of calls a second).
  const when = at ?? new Date();
  const list: ConditionalPrice[] = model.prices;
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i] as ConditionalPrice;
    const c = entry.constraint;
    if (!c) return entry.prices;
    if ('start_date' in c) {
      if (when >= new Date(c.start_date)) return entry.prices;
    } else if (inTimeWindow(when, c.start_time, c.end_time)) {
      return entry.prices;
    }
  }
  return (list[0] as ConditionalPrice).prices;
}

/** The dates on which a model's price changed (empty when it has one price). */
export function priceChanges(model: ModelInfo): string[] {
  if (!Array.isArray(model.prices)) return [];
  return model.prices.flatMap((c) => (c.constraint && 'start_date' in c.constraint ? [c.constraint.start_date] : []));
}

function inTimeWindow(when: Date, start: string, end: string): boolean {
  const now = when.getUTCHours() * 3600 + when.getUTCMinutes() * 60 + when.getUTCSeconds();
  const s = secondsOfDay(start);
  const e = secondsOfDay(end);
  return e < s ? now >= s || now < e : now >= s && now < e;
}

/** Seconds after UTC midnight of a time like "16:30:00Z" or "08:00:00+08:00". */
function secondsOfDay(t: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(t);
  if (!m) return 0;
  const offset = m[4] === 'Z' ? 0 : (m[5] === '+' ? 1 : -1) * (Number(m[6]) * 3600 + Number(m[7]) * 60);
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) - offset + 86400) % 86400;
}

/** Does a model id satisfy an upstream match rule? Case-insensitive, as upstream. */
export function matches(rule: MatchLogic, id: string): boolean {
  const s = id.toLowerCase();
  if ('or' in rule) return rule.or.some((r) => matches(r, id));
  if ('and' in rule) return rule.and.every((r) => matches(r, id));
  if ('equals' in rule) return s === rule.equals.toLowerCase();
  if ('starts_with' in rule) return s.startsWith(rule.starts_with.toLowerCase());
  if ('ends_with' in rule) return s.endsWith(rule.ends_with.toLowerCase());
  if ('contains' in rule) return s.includes(rule.contains.toLowerCase());
  // Upstream lower-cases the id before every rule, regex included.
  if ('regex' in rule) {
    const linear = safeRegexes.get(rule);
    return linear ? linear.matcher(s).find() : new RegExp(rule.regex).test(s);
  }
  return false;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
function isPrice(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}
function isTimeOfDay(x: unknown): boolean {
  return typeof x === 'string' && /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(x);
}
function isDate(x: unknown): boolean {
  // Date would roll 2026-02-30 over to March 2: the day must come back as written.
  return typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x) && !Number.isNaN(new Date(x).getTime()) && new Date(x).toISOString().slice(0, 10) === x;
}

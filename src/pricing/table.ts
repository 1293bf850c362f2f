import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ConditionalPrice, MatchLogic, ModelInfo, ModelPrice, PriceTable, ProviderInfo } from './types.js';

const BUILT_IN = new URL('../../pricing.json', import.meta.url);

/**
 * The price table: the built-in pricing.json with the user's file (if any) merged on top.
 * A user's provider is searched before the built-in ones; a user's model replaces a built-in
 * model of the same id and is otherwise put first in its provider.
 */
export function loadPriceTable(userFile?: string): PriceTable {
  const table = JSON.parse(readFileSync(BUILT_IN, 'utf8')) as PriceTable;
  if (!userFile) return table;
  return mergeTables(table, readUserPricing(userFile), userFile);
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

/** Reads and validates a user's pricing file; any fault is one UsageError naming the file and entry. */
export function readUserPricing(file: string): ProviderInfo[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read pricing file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
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
  const problem = providers.map((p, i) => providerProblem(p, `providers[${i}]`)).find((x) => x !== null);
  if (problem) throw new UsageError(`pricing file ${file}: ${problem}`);
  return (providers as ProviderInfo[]).map((p) => ({ ...p, name: p.name ?? p.id }));
}

/** Returns a description of the first fault in a provider entry, or null if it is well formed. */
export function providerProblem(p: unknown, at: string): string | null {
  if (!isObject(p)) return `${at} must be an object`;
  if (typeof p.id !== 'string' || !p.id) return `${at}.id must be a non-empty string`;
  const where = `${at} ("${p.id}")`;
  if (!Array.isArray(p.models)) return `${where}.models must be an array`;
  for (const [i, m] of p.models.entries()) {
    const problem = modelProblem(m, `${where}.models[${i}]`);
    if (problem) return problem;
  }
  return null;
}

function modelProblem(m: unknown, at: string): string | null {
  if (!isObject(m)) return `${at} must be an object`;
  if (typeof m.id !== 'string' || !m.id) return `${at}.id must be a non-empty string`;
  const where = `${at} ("${m.id}")`;
  const match = matchProblem(m.match, `${where}.match`);
  if (match) return match;
  if (m.context_window !== undefined && !isCount(m.context_window)) return `${where}.context_window must be a whole number`;
  if (Array.isArray(m.prices)) {
    if (m.prices.length === 0) return `${where}.prices must not be an empty list`;
    for (const [i, c] of (m.prices as unknown[]).entries()) {
      if (!isObject(c)) return `${where}.prices[${i}] must be {"constraint": ..., "prices": {...}}`;
      const constraint = c.constraint;
      if (constraint !== undefined && !(isObject(constraint) && (isDate(constraint.start_date) || (typeof constraint.start_time === 'string' && typeof constraint.end_time === 'string')))) {
        return `${where}.prices[${i}].constraint must have a start_date (YYYY-MM-DD) or start_time and end_time`;
      }
      const problem = pricesProblem(c.prices, `${where}.prices[${i}].prices`);
      if (problem) return problem;
    }
    return null;
  }
  return pricesProblem(m.prices, `${where}.prices`);
}

function pricesProblem(prices: unknown, at: string): string | null {
  if (!isObject(prices)) return `${at} must be an object of prices such as {"input_mtok": 2.5, "output_mtok": 10}`;
  for (const [key, value] of Object.entries(prices)) {
    if (value === undefined) continue;
    if (typeof value === 'number') {
      if (!(Number.isFinite(value) && value >= 0)) return `${at}.${key} must be a non-negative number, got ${JSON.stringify(value)}`;
      continue;
    }
    if (isObject(value) && typeof value.base === 'number' && Array.isArray(value.tiers)) {
      const bad = (value.tiers as unknown[]).findIndex((t) => !(isObject(t) && isCount(t.start) && typeof t.price === 'number' && t.price >= 0));
      if (value.base < 0 || bad >= 0) return `${at}.${key} tiers must be [{"start": tokens, "price": per-1M}] with non-negative numbers`;
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

function matchProblem(m: unknown, at: string): string | null {
  if (!isObject(m)) return `${at} must be a match rule such as {"equals": "my-model"}`;
  const keys = Object.keys(m);
  if (keys.length !== 1) return `${at} must have exactly one of equals, starts_with, ends_with, contains, regex, or, and`;
  const key = keys[0] as string;
  const value = m[key];
  if (key === 'or' || key === 'and') {
    if (!Array.isArray(value) || value.length === 0) return `${at}.${key} must be a non-empty list of rules`;
    for (const [i, sub] of value.entries()) {
      const problem = matchProblem(sub, `${at}.${key}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (!['equals', 'starts_with', 'ends_with', 'contains', 'regex'].includes(key)) return `${at} has unknown rule "${key}"`;
  if (typeof value !== 'string') return `${at}.${key} must be a string`;
  if (key === 'regex') {
    try {
      new RegExp(value);
    } catch {
      return `${at}.regex is not a valid regular expression`;
    }
  }
  return null;
}

/** The price in force at `when`: the last dated price that has started, as upstream chooses. */
export function priceAt(model: ModelInfo, when: Date = new Date()): ModelPrice {
  if (!Array.isArray(model.prices)) return model.prices;
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
  if ('regex' in rule) return new RegExp(rule.regex).test(s);
  return false;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
function isDate(x: unknown): boolean {
  return typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x) && !Number.isNaN(new Date(x).getTime());
}

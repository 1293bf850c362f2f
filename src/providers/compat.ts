/**
 * The OpenAI-compatible providers: one row each. A row says where the provider's
 * OpenAI-compatible API is, which variable holds its key, which pricing.json provider prices
 * its calls, and which variable its own SDK reads for its base URL (for `exec`). Everything
 * else (calling, metering, the proxy's route) is the OpenAI flavour's, shared: adding a
 * provider is adding a row. SDK-free and pure, so plan, record and the proxy can use it.
 *
 * Sources (looked up, December 2026): each provider's API docs for the base URL and key
 * variable; the SDK variables from the SDKs' own clients (groq-sdk 1.6.0 reads GROQ_BASE_URL and
 * posts to /openai/v1/chat/completions under it; together-ai's and the Cerebras SDK's
 * Stainless clients read TOGETHER_BASE_URL and CEREBRAS_BASE_URL).
 */
import { UsageError } from '../errors.js';
import { resolveModel } from '../pricing/resolve.js';
import type { PriceTable } from '../pricing/types.js';
import type { Resolved } from '../pricing/resolve.js';

export interface CompatRow {
  /** `--provider ID`, `ID/MODEL`, the proxy's `/ID/v1` path prefix, and the record's provider. */
  readonly id: string;
  /** Its public OpenAI-compatible base URL, as the `openai` SDK takes it (the SDK adds /chat/completions). */
  readonly baseUrl: string;
  /** The variable its key is read from; null: it takes none (a local server). */
  readonly keyVar: string | null;
  /** A variable that sets its base URL for `run`, after --base-url (ollama: OLLAMA_HOST, a host:port). */
  readonly hostVar?: string;
  /**
   * The pricing.json provider its calls are priced under; null where the model name says whose
   * prices apply (openrouter: VENDOR/MODEL) or none do (ollama: a model on your own machine).
   */
  readonly pricing: string | null;
  /** Whether it serves the legacy completions API (`/completions`) beside chat. */
  readonly completions: boolean;
  /**
   * Whether its streams carry usage unasked (groq in x_groq.usage, the others on the last chunk):
   * then the proxy sends a program's request as it is, without asking for include_usage.
   */
  readonly streamUsage?: 'always';
  /**
   * The base-URL variable of the provider's own SDK, which `exec` points at the proxy, and the
   * path that SDK puts after it before `/chat/completions` ('' when its base URL holds the /v1).
   */
  readonly sdk?: { readonly variable: string; readonly path: '' | '/v1' | '/openai/v1'; readonly client: string };
}

export const COMPAT_PROVIDERS = [
  { id: 'groq', baseUrl: 'https://api.groq.com/openai/v1', keyVar: 'GROQ_API_KEY', pricing: 'groq', completions: false, streamUsage: 'always', sdk: { variable: 'GROQ_BASE_URL', path: '/openai/v1', client: 'groq-sdk, groq (Python)' } },
  { id: 'deepseek', baseUrl: 'https://api.deepseek.com', keyVar: 'DEEPSEEK_API_KEY', pricing: 'deepseek', completions: false },
  { id: 'mistral', baseUrl: 'https://api.mistral.ai/v1', keyVar: 'MISTRAL_API_KEY', pricing: 'mistral', completions: false, streamUsage: 'always' },
  { id: 'x-ai', baseUrl: 'https://api.x.ai/v1', keyVar: 'XAI_API_KEY', pricing: 'x-ai', completions: false },
  { id: 'together', baseUrl: 'https://api.together.xyz/v1', keyVar: 'TOGETHER_API_KEY', pricing: 'together', completions: true, streamUsage: 'always', sdk: { variable: 'TOGETHER_BASE_URL', path: '', client: 'together-ai, together (Python)' } },
  { id: 'fireworks', baseUrl: 'https://api.fireworks.ai/inference/v1', keyVar: 'FIREWORKS_API_KEY', pricing: 'fireworks', completions: true },
  { id: 'cerebras', baseUrl: 'https://api.cerebras.ai/v1', keyVar: 'CEREBRAS_API_KEY', pricing: 'cerebras', completions: true, sdk: { variable: 'CEREBRAS_BASE_URL', path: '/v1', client: '@cerebras/cerebras_cloud_sdk, cerebras-cloud-sdk (Python)' } },
  { id: 'perplexity', baseUrl: 'https://api.perplexity.ai', keyVar: 'PERPLEXITY_API_KEY', pricing: 'perplexity', completions: false },
  { id: 'moonshotai', baseUrl: 'https://api.moonshot.ai/v1', keyVar: 'MOONSHOT_API_KEY', pricing: 'moonshotai', completions: false },
  { id: 'openrouter', baseUrl: 'https://openrouter.ai/api/v1', keyVar: 'OPENROUTER_API_KEY', pricing: null, completions: true, streamUsage: 'always' },
  { id: 'ollama', baseUrl: 'http://localhost:11434/v1', keyVar: null, hostVar: 'OLLAMA_HOST', pricing: null, completions: true },
] as const satisfies readonly CompatRow[];

export type CompatName = (typeof COMPAT_PROVIDERS)[number]['id'];

export const COMPAT_NAMES: readonly CompatName[] = COMPAT_PROVIDERS.map((row) => row.id);

/** Whether a provider's streams carry usage without stream_options.include_usage (the proxy then asks for none). */
export function streamsUsageUnasked(name: string): boolean {
  return isCompat(name) && compatRow(name).streamUsage === 'always';
}

export function isCompat(name: string): name is CompatName {
  return (COMPAT_NAMES as readonly string[]).includes(name);
}

export function compatRow(name: CompatName): CompatRow {
  return COMPAT_PROVIDERS.find((row) => row.id === name) as CompatRow;
}

/**
 * `NAME/MODEL` (LiteLLM's convention) for a compatible provider NAME: the provider and the
 * model it is asked for (which may hold slashes itself: `openrouter/openai/gpt-4o`,
 * `together/meta-llama/Llama-3.3-70B-Instruct-Turbo`); null for any other name.
 */
export function compatModelOf(model: string): { provider: CompatName; model: string } | null {
  const m = /^([a-z-]+)\/(.+)$/i.exec(model.trim());
  if (!m || !isCompat((m[1] as string).toLowerCase())) return null;
  return { provider: (m[1] as string).toLowerCase() as CompatName, model: m[2] as string };
}

// OpenRouter's vendor prefixes whose pricing.json provider has another id.
const OPENROUTER_VENDORS: Record<string, string> = { mistralai: 'mistral' };

/**
 * The price entry of a model a compatible provider served: under that provider's own entry of
 * the table only (never another provider's price for a same-named model). OpenRouter's
 * `VENDOR/MODEL` is priced under VENDOR's entry (OpenRouter passes the vendors' prices
 * through); ollama has none. Null when the table has no such price.
 */
export function compatPriceOf(table: PriceTable, model: string, name: CompatName): Resolved | null {
  const row = compatRow(name);
  let providerId = row.pricing;
  let asked = model;
  if (name === 'openrouter') {
    const m = /^([^/]+)\/(.+)$/.exec(model.trim());
    if (!m) return null;
    providerId = OPENROUTER_VENDORS[m[1] as string] ?? (m[1] as string);
    // OpenRouter's variants (`:free`, `:nitro`) are routing choices, not other models.
    asked = (m[2] as string).replace(/:[a-z]+$/, '');
  }
  if (providerId === null || !table.providers.some((p) => p.id === providerId)) return null;
  const found = resolveModel(table, asked, providerId);
  return found && found.provider.id === providerId ? found : null;
}

/**
 * Why a compatible provider's call has no table price, for its cost note.
 */
export function compatNoPriceNote(name: CompatName, model: string): string {
  if (name === 'ollama') return `ollama runs "${model}" on your own machine: pricing.json has no price for it (add one with --pricing FILE)`;
  if (name === 'openrouter') return `no price for "${model}" under its vendor's entry in pricing.json (OpenRouter models are VENDOR/MODEL; add it with --pricing FILE)`;
  return `no ${compatRow(name).pricing} price for model "${model}" (add it with --pricing FILE)`;
}

/**
 * The base URL of a `run` call to a compatible provider with no --base-url: its own SDK's
 * base-URL variable (GROQ_BASE_URL, with the path that SDK adds), or the row's own variable
 * (OLLAMA_HOST, `host:port` or a URL, as ollama reads it) with /v1, else the public one.
 */
export function compatBaseUrl(name: CompatName, env: NodeJS.ProcessEnv): { url: string; source: string } {
  const row = compatRow(name);
  const own = row.sdk ? env[row.sdk.variable]?.trim() : undefined;
  if (row.sdk && own) return { url: own.replace(/\/+$/, '') + row.sdk.path, source: row.sdk.variable };
  const host = row.hostVar ? env[row.hostVar]?.trim() : undefined;
  if (row.hostVar && host) {
    const withScheme = /^[a-z]+:\/\//i.test(host) ? host : `http://${host}`;
    // 0.0.0.0 is where ollama listens, not an address to dial.
    const parsed = new URL(withScheme);
    // 0.0.0.0 is where ollama listens, not an address to dial; a bare host is ollama's on its own port.
    if (parsed.hostname === '0.0.0.0') parsed.hostname = '127.0.0.1';
    if (withScheme !== host && !/:\d+$/.test(host.split('/')[0] as string)) parsed.port = '11434';
    const url = parsed.href.replace(/\/+$/, '');
    return { url: /\/v1$/.test(url) ? url : `${url}/v1`, source: row.hostVar };
  }
  return { url: row.baseUrl, source: `${name}'s public base URL` };
}

/**
 * Where `price` and `count` look a NAME/MODEL up: the model under the pricing.json provider that
 * prices that provider's calls (openrouter/VENDOR/MODEL: under VENDOR). Null for any other name;
 * a UsageError for a provider no table prices (ollama).
 */
export function compatLookupOf(name: string): { model: string; provider: string } | null {
  const prefixed = compatModelOf(name);
  if (!prefixed) return null;
  const row = compatRow(prefixed.provider);
  if (prefixed.provider === 'openrouter') {
    const m = /^([^/]+)\/(.+)$/.exec(prefixed.model);
    if (!m) throw new UsageError(`${name}: OpenRouter models are openrouter/VENDOR/MODEL (e.g. openrouter/openai/gpt-4o)`);
    return { provider: OPENROUTER_VENDORS[m[1] as string] ?? (m[1] as string), model: (m[2] as string).replace(/:[a-z]+$/, '') };
  }
  if (row.pricing === null) throw new UsageError(`${name}: ${row.id} runs models on your own machine, and pricing.json prices none of them (add one with --pricing FILE)`);
  return { provider: row.pricing, model: prefixed.model };
}

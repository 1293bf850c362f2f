import { roundUsd } from './pricing/cost.js';
import { resolveForCall } from './pricing/resolve.js';
import { priceAt } from './pricing/table.js';
import type { UsageExtras } from './normalise.js';
import { staleTableHint } from './pricing/source.js';
import { tieredCostOf } from './pricing/tier.js';
import type { PriceTable } from './pricing/types.js';
import { BEDROCK_PRICING_PROVIDER } from './providers/bedrock.js';
import { COMPAT_PROVIDERS, compatNoPriceNote, compatPriceOf, isCompat, type CompatName } from './providers/compat.js';
import { providerRow } from './providers/descriptors.js';
import { safeMessage } from './providers/transport.js';
import type { Api, CallOutcome, CallSpec, FailureKind, ProviderName } from './providers/types.js';
import type { ChatMessage, EncodingName } from './tokens.js';
import { shownName } from './render/format.js';
import { makeUsage, type Usage } from './usage.js';

/** How an estimated usage was counted: which parts, with which tokenizer, how exactly. */
export interface Estimate {
  encoding: EncodingName;
  parts: ('input' | 'output')[];
  /**
   * True where the count is close, not exact: tiktoken is not the model's own tokenizer (every
   * model but OpenAI's; see tokenizerFor), or the prompt had parts no formula counts exactly.
   */
  approximation: boolean;
}

/**
 * Where a call's usage came from: the provider's report, our tiktoken count, or nothing at all
 * because the call failed before the provider processed anything (nothing was billed).
 */
export type Source = 'reported' | 'estimated' | 'none';

/** The APIs a record can come from: the four call flavours, and embeddings (metered by the proxy). */
export type RecordApi = Api | 'embeddings';

/**
 * A call as recordOf needs it. The metering proxy sees whole conversations, which a CallSpec's
 * prompt and system cannot hold: `sent` carries them, for the estimate when usage is missing.
 */
export type RecordSpec = Omit<CallSpec, 'api'> & {
  api: RecordApi;
  /** Made by a program through the metering proxy: nothing of ours retried it, and its base URL is an upstream's. */
  proxied?: boolean;
  sent?: {
    /** Chat-shaped input (chat, messages, responses), text only. */
    messages?: ChatMessage[];
    /** Legacy completions' prompts, or embeddings' inputs. */
    texts?: string[];
  };
};

/** One call, complete: what a command prints, tallies and records. */
export interface CallRecord {
  provider: ProviderName;
  api: RecordApi;
  model: string;
  requested_model: string;
  stream: boolean;
  ok: boolean;
  error: string | null;
  error_kind: FailureKind | null;
  status: number | null;
  text: string;
  choices?: string[];
  usage: Usage;
  usage_source: Source;
  estimate: Estimate | null;
  /** Rounded to 12 significant digits (roundUsd): what is stored and printed. */
  cost_usd: number | null;
  priced_as: string | null;
  /**
   * Azure only: which name priced the call, the model its reply named (`model`) or, when that
   * is unknown to the table or absent, the deployment's (`requested_model`).
   */
  priced_by?: 'model' | 'deployment';
  cost_note: string | null;
  /**
   * The cost the provider itself reported (OpenRouter's usage.cost), when it did: then
   * `cost_usd` is this figure, and `table_cost_usd` what pricing.json's prices come to (null: none).
   */
  reported_cost_usd?: number;
  table_cost_usd?: number | null;
  /**
   * Billed extras beside tokens that the provider reported and pricing.json prices (Perplexity's
   * citation tokens and web searches), included in `cost_usd`.
   */
  fees?: { part: 'citation_tokens' | 'web_searches'; quantity: number; rate: number; usd: number }[];
  /** The service tier the provider reported serving the call at (OpenAI service_tier, Anthropic usage.service_tier). */
  service_tier?: string | null;
  /** Said of a priced cost: it was priced at standard rates because the table has no price for the call's tier. */
  price_note?: string | null;
  request_id: string | null;
  duration_ms: number;
}

/** A call's usage, where it came from, and how it was counted when estimated. */
interface Counted {
  usage: Usage;
  source: Source;
  estimate: Estimate | null;
}

/** Turns a provider's outcome into a record: fills in usage the provider did not report, and prices it. */
export async function recordOf(spec: RecordSpec, outcome: CallOutcome, durationMs: number, table: PriceTable): Promise<CallRecord> {
  return recordNow(spec, outcome, durationMs, table) ?? recordWith(spec, outcome, durationMs, table, await estimatedUsage(spec, outcome, outcome.model ?? spec.model));
}

/**
 * recordOf at once, for a call whose usage needs no counting (reported, or none because nothing
 * was processed); null when it must be estimated, which may load a tokenizer. A proxy records
 * thousands of calls a second: each promise it does not make is work it does not do.
 */
export function recordNow(spec: RecordSpec, outcome: CallOutcome, durationMs: number, table: PriceTable): CallRecord | null {
  if (outcome.usage) return recordWith(spec, outcome, durationMs, table, { usage: outcome.usage, source: 'reported', estimate: null });
  const received = outcome.text.some((t) => t.length > 0);
  const failedBeforeReply = outcome.failure && !received && !outcome.partialUsage && outcome.failure.kind !== 'stream-cut' && outcome.failure.kind !== 'stream-error';
  if (failedBeforeReply) return recordWith(spec, outcome, durationMs, table, { usage: makeUsage({}), source: 'none', estimate: null });
  return null;
}

function recordWith(spec: RecordSpec, outcome: CallOutcome, durationMs: number, table: PriceTable, counted: Counted): CallRecord {
  const model = outcome.model ?? spec.model;
  const { usage: reported, source, estimate } = counted;
  // Priced at the tier the usage names; the tier is then kept beside the usage, not in it: the
  // usage stays LangChain's shape.
  const priced = priceOf(reported, [model, spec.model], spec.provider, table, outcome.model !== null, outcome.extras);
  const { service_tier: serviceTier, ...usage } = reported;
  if (spec.provider === 'azure' && priced.priced_as !== null) {
    priced.priced_by = outcome.model !== null && resolveForCall(table, outcome.model, 'azure') ? 'model' : 'deployment';
  }
  // A provider that reports its own cost is billed by it: the total uses that, the table's price is kept beside it.
  const reportedCost = outcome.extras?.reported_cost_usd;
  if (reportedCost !== undefined && source !== 'none') {
    const reported = roundUsd(reportedCost);
    Object.assign(priced, { reported_cost_usd: reported, table_cost_usd: priced.cost_usd, cost_usd: reported, cost_note: null });
  }
  // Nothing was processed, so nothing is billed; the model still groups with its priced calls.
  if (source === 'none') Object.assign(priced, { cost_usd: 0, cost_note: 'the call failed before the provider processed it' });
  const f = outcome.failure;
  return {
    provider: spec.provider,
    api: spec.api,
    model,
    requested_model: spec.model,
    stream: spec.stream,
    ok: !f,
    error: f ? failureLine(spec, f) : null,
    error_kind: f?.kind ?? null,
    status: f?.status ?? null,
    text: outcome.text.join('\n\n'),
    ...(outcome.text.length > 1 ? { choices: outcome.text } : {}),
    usage,
    usage_source: source,
    estimate,
    ...priced,
    service_tier: serviceTier ?? null,
    request_id: outcome.requestId ?? f?.requestId ?? null,
    duration_ms: Math.round(durationMs),
  };
}

/** The usage of a call that received text but no usage: counted with tiktoken. */
async function estimatedUsage(spec: RecordSpec, outcome: CallOutcome, model: string): Promise<Counted> {
  const tokens = await import('./tokens.js');
  const tokenizer = tokens.tokenizerFor(model, spec.provider);
  const { encoding } = tokenizer;
  const approximation = !tokenizer.exact;
  const output = await tokens.countTextsTokens(outcome.text, encoding);
  if (outcome.partialUsage) {
    // The stream broke after message_start: its input is reported, only the output is counted.
    const p = outcome.partialUsage;
    const usage = makeUsage({
      input: p.input_tokens,
      output,
      cacheRead: p.input_token_details.cache_read,
      cacheCreation: p.input_token_details.cache_creation,
      cacheCreation1h: p.input_token_details.cache_creation_1h,
    });
    return { usage, source: 'estimated', estimate: { encoding, parts: ['output'], approximation } };
  }
  const input = await sentTokens(spec, model);
  if (spec.api === 'embeddings') {
    // Embeddings bill prompt tokens only.
    return { usage: makeUsage({ input: input.tokens }), source: 'estimated', estimate: { encoding, parts: ['input'], approximation } };
  }
  return { usage: makeUsage({ input: input.tokens, output }), source: 'estimated', estimate: { encoding, parts: ['input', 'output'], approximation: approximation || input.approximation } };
}

/**
 * The prompt tokens of what a call sends, counted with tiktoken (tokenizerFor's choice of
 * encoding): the chat formula for chat-shaped input, plain counts for legacy prompts and
 * embedding inputs. `approximation`: no published formula or tokenizer makes it exact.
 */
export async function sentTokens(spec: Pick<RecordSpec, 'api' | 'provider' | 'prompt' | 'system' | 'sent'>, model: string): Promise<{ tokens: number; approximation: boolean }> {
  const tokens = await import('./tokens.js');
  const tokenizer = tokens.tokenizerFor(model, spec.provider);
  if (spec.api === 'completions' || spec.api === 'embeddings') {
    return { tokens: await tokens.countTextsTokens(spec.sent?.texts ?? [spec.prompt], tokenizer.encoding), approximation: !tokenizer.exact };
  }
  const chat = await tokens.chatTokens(spec.sent?.messages ?? messagesOf(spec), model, spec.provider);
  return { tokens: chat.tokens, approximation: !tokenizer.exact || chat.approximations.length > 0 };
}

/** The messages a chat call sends, for the chat-message token formula. */
export function messagesOf(spec: Pick<CallSpec, 'system' | 'prompt'>): { role: string; content: string }[] {
  return [...(spec.system ? [{ role: 'system', content: spec.system }] : []), { role: 'user', content: spec.prompt }];
}

/** The provider of pricing.json whose prices a provider's calls are billed at, where the names differ. */
export function pricingProviderOf(provider: string): string {
  if (isCompat(provider)) return COMPAT_PROVIDERS.find((row) => row.id === provider)?.pricing ?? provider;
  return provider === 'bedrock' ? BEDROCK_PRICING_PROVIDER : provider;
}

/**
 * A call's cost with the table given: the first of `names` the table knows, at the prices of the
 * service tier in `usage.service_tier` where the table has them. Used when a call is recorded, and
 * by `report --reprice` with the table in use now. `replied`: the first name is the model the
 * reply named (what an Azure deployment's note says). `extras`: billed extras the usage reported
 * (Perplexity's citations and searches), priced where the model has a price for them.
 */
export function priceOf(usage: Usage, names: string[], provider: string, table: PriceTable, replied = false, extras?: UsageExtras): Pick<CallRecord, 'cost_usd' | 'priced_as' | 'priced_by' | 'cost_note' | 'price_note' | 'fees'> {
  for (const name of names) {
    // A compatible provider's calls are priced under its own entry only (providers/compat.ts).
    const found = isCompat(provider) ? compatPriceOf(table, name, provider) : resolveForCall(table, name, pricingProviderOf(provider));
    if (!found) continue;
    const { cost, pricedAs, note } = tieredCostOf(usage, found);
    const priceNote = note ? { price_note: note } : {};
    if (cost.usd === null) return { cost_usd: null, priced_as: pricedAs, cost_note: `${pricedAs} has no ${cost.unpriced.join(' or ')} price`, ...priceNote };
    const fees = feesOf(priceAt(found.model), extras);
    const feesUsd = fees.reduce((sum, f) => sum + f.usd, 0);
    return { cost_usd: roundUsd(cost.usd + feesUsd), priced_as: pricedAs, cost_note: null, ...priceNote, ...(fees.length ? { fees } : {}) };
  }
  const hint = staleTableHint(table.source, new Date(), '; ');
  if (provider === 'azure') {
    const named = replied ? `its reply named "${shownName(names[0] as string)}"` : 'its reply named no model';
    return { cost_usd: null, priced_as: null, cost_note: `no azure price for deployment "${shownName(names[1] as string)}" (${named}; add the model with --pricing FILE${hint})` };
  }
  if (isCompat(provider)) return { cost_usd: null, priced_as: null, cost_note: compatNoPriceNote(provider, shownName(names[0] as string)) };
  return { cost_usd: null, priced_as: null, cost_note: `no price for model "${shownName(names[0] as string)}" (add it with --pricing FILE${hint})` };
}

/** Per compatible provider, one value made from its row. */
function compatEntries(value: (row: (typeof COMPAT_PROVIDERS)[number]) => string): Record<CompatName, string> {
  return Object.fromEntries(COMPAT_PROVIDERS.map((row) => [row.id, value(row)])) as Record<CompatName, string>;
}

// The billed extras a usage can report, and the price key (per 1M tokens, per 1K searches) of each.
const FEES = [
  { part: 'citation_tokens', key: 'output_citation_mtok', per: 1e6 },
  { part: 'web_searches', key: 'web_searches_kcount', per: 1e3 },
] as const;

/** The extras a call reported that its model has a price for, each priced. */
function feesOf(prices: Record<string, unknown>, extras: UsageExtras | undefined): NonNullable<CallRecord['fees']> {
  const out: NonNullable<CallRecord['fees']> = [];
  for (const { part, key, per } of FEES) {
    const quantity = extras?.[part] ?? 0;
    const rate = prices[key];
    if (quantity > 0 && typeof rate === 'number') out.push({ part, quantity, rate, usd: (quantity * rate) / per });
  }
  return out;
}

/** What a rejected key's message says to check: the provider's key variables, or what it takes instead. */
function keyHintOf(provider: ProviderName): string {
  const row = providerRow(provider);
  return row.keyHint ?? row.keyVars.join(' or ');
}

/**
 * One line for a failed call: status, the provider's message, and what to do. The message is
 * the provider's (or a proxied upstream's) own text, of any length: the key is taken out of it
 * before it is cut short, so no part of a key is left at the cut.
 */
export function failureLine(spec: Pick<RecordSpec, 'provider' | 'model' | 'baseURL' | 'proxied'> & Partial<Pick<RecordSpec, 'api' | 'apiKey'>>, f: NonNullable<CallOutcome['failure']>): string {
  const what = f.status ? `${f.status}${f.type ? ` ${f.type}` : ''}` : f.kind;
  return `${spec.provider} ${shownName(spec.model)}: ${what}: ${safeMessage(f.message.replace(/\s+/g, ' '), spec.apiKey ?? '')}${adviceFor(spec, f)}`;
}

/** Where exec and proxy take each provider's upstream from. */
export const UPSTREAM_SETTING: Record<ProviderName, string> = {
  ...compatEntries((row) => `--upstream ${row.id}=URL`),
  openai: '--openai-upstream or OPENAI_BASE_URL',
  anthropic: '--anthropic-upstream or ANTHROPIC_BASE_URL',
  azure: '--azure-upstream or AZURE_OPENAI_ENDPOINT',
  bedrock: '--bedrock-upstream or AWS_ENDPOINT_URL_BEDROCK_RUNTIME',
  google: '--google-upstream or GOOGLE_GEMINI_BASE_URL',
};

function adviceFor(spec: Pick<RecordSpec, 'provider' | 'baseURL' | 'proxied'> & { api?: RecordSpec['api'] }, f: NonNullable<CallOutcome['failure']>): string {
  // `run` retries through its SDK (but @google/genai makes one attempt unless told otherwise);
  // the proxy relays what the program's own client got.
  const retried = spec.proxied || spec.api === 'gemini' ? '' : ': retried';
  const baseUrl = spec.proxied ? UPSTREAM_SETTING[spec.provider] : spec.provider === 'azure' ? '--base-url or AZURE_OPENAI_ENDPOINT' : spec.provider === 'google' ? '--base-url or GOOGLE_GEMINI_BASE_URL' : '--base-url';
  if (f.status === 401 || f.status === 403) return ` (check ${keyHintOf(spec.provider)})`;
  if (f.status === 404) return ` (check the ${spec.provider === 'azure' ? 'deployment' : 'model'} name and ${baseUrl})`;
  if (f.status === 429) return ` (rate limited or out of quota${retried}; wait, or check your plan)`;
  if (f.status !== undefined && f.status >= 500) return ` (the provider failed${retried}; try again later)`;
  if (f.kind === 'connection') return ` (check the network and ${baseUrl}${spec.baseURL ? ` ${spec.baseURL}` : ''})`;
  if (f.kind === 'stream-cut') return ' (the stream was cut off: usage of the text received is estimated)';
  if (f.kind === 'stream-error') return ' (the provider ended the stream with an error)';
  return '';
}

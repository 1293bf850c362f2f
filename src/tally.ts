import { roundUsd } from './pricing/cost.js';
import type { CallRecord } from './record.js';

/** Where a tallied figure came from, across all calls. */
export type FigureSource = 'reported' | 'estimated' | 'reported + estimated' | 'none';

export interface ModelTally {
  model: string;
  priced_as: string | null;
  /** Set when the calls went to another provider than the one whose prices they took (Azure's gpt-4o at openai's). */
  provider?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
}

/** An Azure deployment's calls, and the name their price was found by (see CallRecord.priced_by). */
export interface DeploymentPricing {
  deployment: string;
  /** The model the replies named, or null when they named none. */
  model: string | null;
  priced_as: string;
  priced_by: 'model' | 'deployment';
}

/** The get_openai_callback summary across the calls of one command. Pure. */
export interface Tally {
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number;
  /** Server-side web searches (Anthropic server_tool_use, OpenAI Responses web_search_call), billed per search. */
  web_search_requests?: number;
  successful_requests: number;
  failed_requests: number;
  /** Null when any call's cost is unknown: the total is then incomplete, never a silent $0. */
  total_cost_usd: number | null;
  known_cost_usd: number;
  cost_complete: boolean;
  sources: { prompt: FigureSource; completion: FigureSource };
  /** Tokenizers used for estimates, for the footnote. */
  encodings: string[];
  approximate: boolean;
  /** The models whose estimates are approximate (see Estimate.approximation). */
  approximated: string[];
  unpriced: string[];
  /** Said of priced calls: a service tier the table has no price for, priced at standard rates. */
  price_notes?: string[];
  by_model: ModelTally[];
  /** Azure: how each deployment's calls were priced, by the reply's model or the deployment's name. */
  deployments: DeploymentPricing[];
  /** Calls whose provider reported their cost (OpenRouter): the total uses it; pricing.json's figure beside it. */
  reported_costs?: ReportedCost[];
  /** Set when a session's calls named more models than it keeps apart: those past this many names are in one row, OTHER_MODELS. */
  other_models_after?: number;
}

export interface ReportedCost {
  provider: string;
  model: string;
  priced_as: string | null;
  requests: number;
  reported_usd: number;
  /** What pricing.json's prices come to for the same calls; null when it has none for one of them. */
  table_usd: number | null;
}

/**
 * How many model names a long-running session (proxy, exec) keeps apart in its tally and in
 * /metrics, and how long a name may be: a proxy meters whatever names its clients send, and each
 * name kept is memory held (about 1.8 KB, measured) and, in /metrics, a few dozen series, for as
 * long as it runs. The OpenTelemetry SDK bounds the OTLP export the same way (2,000 attribute
 * sets an instrument). No real deployment is near either limit; a client that sprays names is.
 */
export const MODELS_KEPT = 1000;
export const MODEL_NAME_LENGTH_KEPT = 256;
/** The tally row of the calls whose model names were past MODELS_KEPT (or longer than MODEL_NAME_LENGTH_KEPT). */
export const OTHER_MODELS = '(other models)';

/** The first `max` distinct names (per group, all groups counted together) of at most `maxLength` characters: these are kept, any other is not. */
export class KeptNames {
  private readonly groups = new Map<string, Set<string>>();
  private size = 0;
  constructor(
    readonly max: number = MODELS_KEPT,
    private readonly maxLength: number = MODEL_NAME_LENGTH_KEPT,
  ) {}

  keeps(group: string, name: string): boolean {
    let names = this.groups.get(group);
    if (names?.has(name)) return true;
    if (name.length > this.maxLength || this.size >= this.max) return false;
    if (!names) this.groups.set(group, (names = new Set()));
    names.add(name);
    this.size++;
    return true;
  }
}

export function tallyOf(calls: readonly CallRecord[]): Tally {
  const builder = new TallyBuilder();
  for (const c of calls) builder.add(c);
  return builder.tally();
}

/**
 * A tally built a call at a time, for a long-running proxy that should not have to keep every
 * call to print its summary. tallyOf is this over a list. With `kept`, a call whose model name
 * (as asked for, per provider) is not kept is counted in one row, OTHER_MODELS, and adds no note
 * of its own: the totals stay exact, and what is held stays bounded.
 */
export class TallyBuilder {
  private readonly t: Tally = {
    total_tokens: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_tokens: 0,
    cache_creation_tokens: 0,
    reasoning_tokens: 0,
    successful_requests: 0,
    failed_requests: 0,
    total_cost_usd: 0,
    known_cost_usd: 0,
    cost_complete: true,
    sources: { prompt: 'none', completion: 'none' },
    encodings: [],
    approximate: false,
    approximated: [],
    unpriced: [],
    by_model: [],
    deployments: [],
  };
  private readonly deployments = new Map<string, DeploymentPricing>();
  private readonly byModel = new Map<string, ModelTally>();
  /** The row of the calls whose model names were not kept (see KeptNames), last in by_model. */
  private otherModels: ModelTally | null = null;
  private readonly reported = new Map<string, ReportedCost>();
  private readonly encodings = new Set<string>();
  private readonly unpriced = new Set<string>();
  private readonly priceNotes = new Set<string>();
  private readonly approximated = new Set<string>();
  /** Calls that count toward the sources (usage_source not 'none'), and those estimated per part. */
  private counted = 0;
  private readonly estimated = { input: 0, output: 0 };

  constructor(private readonly kept?: KeptNames) {}

  add(c: CallRecord): void {
    const { t } = this;
    // The name the client sent decides (a reply names one model per name asked for, give or take a date).
    const kept = this.kept;
    const other = kept !== undefined && !kept.keeps(c.provider, c.requested_model);
    if (other) t.other_models_after = kept.max;
    t.prompt_tokens += c.usage.input_tokens;
    t.completion_tokens += c.usage.output_tokens;
    t.total_tokens += c.usage.total_tokens;
    t.cached_tokens += c.usage.input_token_details.cache_read;
    t.cache_creation_tokens += c.usage.input_token_details.cache_creation;
    t.reasoning_tokens += c.usage.output_token_details.reasoning;
    if (c.usage.web_search_requests) t.web_search_requests = (t.web_search_requests ?? 0) + c.usage.web_search_requests;
    if (c.ok) t.successful_requests++;
    else t.failed_requests++;
    if (c.price_note) this.priceNotes.add(c.price_note);
    if (c.cost_usd === null) {
      t.cost_complete = false;
      if (other) this.unpriced.add(`no price for some of the models counted as ${OTHER_MODELS}`);
      else if (c.cost_note) this.unpriced.add(c.cost_note);
    } else t.known_cost_usd += c.cost_usd;
    if (c.estimate) {
      this.encodings.add(c.estimate.encoding);
      if (c.estimate.approximation) {
        t.approximate = true;
        this.approximated.add(other ? OTHER_MODELS : c.model);
      }
    }
    if (c.usage_source !== 'none') {
      this.counted++;
      if (c.estimate?.parts.includes('input')) this.estimated.input++;
      if (c.estimate?.parts.includes('output')) this.estimated.output++;
    }

    const model = other ? OTHER_MODELS : c.model;
    const pricedAs = other ? null : c.priced_as;
    if (c.reported_cost_usd !== undefined) {
      const key = `${c.provider}|${model}`;
      const r = this.reported.get(key) ?? { provider: c.provider, model, priced_as: pricedAs, requests: 0, reported_usd: 0, table_usd: 0 };
      r.requests++;
      r.reported_usd += c.reported_cost_usd;
      r.table_usd = r.table_usd === null || c.table_cost_usd === null || c.table_cost_usd === undefined ? null : r.table_usd + c.table_cost_usd;
      this.reported.set(key, r);
    }

    if (c.priced_by && c.priced_as && !other) {
      const d: DeploymentPricing = { deployment: c.requested_model, model: c.model === c.requested_model ? null : c.model, priced_as: c.priced_as, priced_by: c.priced_by };
      this.deployments.set(JSON.stringify(d), d);
    }

    // Calls to Azure priced at another provider's rates are not that provider's calls: a row of their own.
    const elsewhere = c.provider === 'azure' && pricedAs !== null && !pricedAs.startsWith('azure/');
    const key = `${elsewhere ? `${c.provider}|` : ''}${pricedAs ?? model}`;
    let m = other ? this.otherModels : this.byModel.get(key);
    if (!m) {
      m = { model, priced_as: pricedAs, ...(elsewhere ? { provider: c.provider } : {}), requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
      if (other) this.otherModels = m;
      else this.byModel.set(key, m);
    }
    m.requests++;
    m.prompt_tokens += c.usage.input_tokens;
    m.completion_tokens += c.usage.output_tokens;
    m.cost_usd = m.cost_usd === null || c.cost_usd === null ? null : m.cost_usd + c.cost_usd;
  }

  /** The tally so far (a copy: adding more later does not change it). */
  tally(): Tally {
    const { t } = this;
    return {
      ...t,
      total_cost_usd: t.cost_complete ? t.known_cost_usd : null,
      sources: { prompt: this.sourceOf('input'), completion: this.sourceOf('output') },
      encodings: [...this.encodings],
      unpriced: [...this.unpriced],
      ...(this.reported.size ? { reported_costs: [...this.reported.values()].map((r) => ({ ...r })) } : {}),
      ...(this.priceNotes.size ? { price_notes: [...this.priceNotes] } : {}),
      approximated: [...this.approximated],
      by_model: [...this.byModel.values(), ...(this.otherModels ? [this.otherModels] : [])].map((m) => ({ ...m })),
      deployments: [...this.deployments.values()].map((d) => ({ ...d })),
    };
  }

  private sourceOf(part: 'input' | 'output'): FigureSource {
    if (this.counted === 0) return 'none';
    const estimated = this.estimated[part];
    if (estimated === 0) return 'reported';
    return estimated === this.counted ? 'estimated' : 'reported + estimated';
  }
}


/** The --json object: every call, then the tally in get_openai_callback's names. */
export function summaryJson(calls: readonly CallRecord[], t: Tally = tallyOf(calls)): Record<string, unknown> {
  return {
    calls,
    total_tokens: t.total_tokens,
    prompt_tokens: t.prompt_tokens,
    completion_tokens: t.completion_tokens,
    cached_tokens: t.cached_tokens,
    cache_creation_tokens: t.cache_creation_tokens,
    reasoning_tokens: t.reasoning_tokens,
    ...(t.web_search_requests ? { web_search_requests: t.web_search_requests } : {}),
    successful_requests: t.successful_requests,
    failed_requests: t.failed_requests,
    total_cost_usd: roundUsd(t.total_cost_usd),
    known_cost_usd: roundUsd(t.known_cost_usd),
    cost_complete: t.cost_complete,
    ...(t.price_notes ? { price_notes: t.price_notes } : {}),
    sources: t.sources,
    by_model: t.by_model.map((m) => ({ ...m, cost_usd: roundUsd(m.cost_usd) })),
    ...(t.other_models_after ? { other_models_after: t.other_models_after } : {}),
  };
}

/** What an exec or proxy session keeps: the ledger as calls end, the summary and report at the end. */
import { randomUUID } from 'node:crypto';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { MeteringOptions } from '../commands/exec.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { entryOf, ledgerPath, LedgerWriter } from '../ledger.js';
import { loadPriceTable } from '../pricing/table.js';
import type { CallRecord } from '../record.js';
import { renderProxyNotes } from '../render/proxy.js';
import { renderSummary } from '../render/summary.js';
import { KeptNames, summaryJson, TallyBuilder, type Tally } from '../tally.js';
import { serverOf, type Server } from '../telemetry/attributes.js';
import { openTelemetry, type CallSink } from '../telemetry/index.js';
import { tagsOf, type Tags } from '../telemetry/tags.js';
import { REFUSED } from './provider-errors.js';
import { limitsOf } from './limits.js';
import { proxyEnvOf, upstreamsOf } from './routes.js';
import type { ProxyOptions, ProxyStats } from './server.js';

export interface MeteredSession {
  calls: SessionCalls;
  stats: ProxyStats;
  maxCostUsd?: number;
}

/** Failed calls listed by name in the summary; the rest are counted. */
const LISTED_FAILURES = 10;

/**
 * The calls of an exec or proxy session, as much as the summary needs: a running tally, the
 * first failures, and every call only when --json or --report will print them, so a proxy left
 * running for days holds a few numbers, not every call it ever metered, nor every model name.
 */
export class SessionCalls {
  /** Every call, when kept. */
  readonly records: CallRecord[] | null;
  count = 0;
  /** The error lines of the first failed calls (refusals by --max-cost are summed up elsewhere). */
  readonly failures: string[] = [];
  failedCount = 0;
  /** Calls refused by --max-cost that went to Bedrock (answered 400, not 429). */
  refusedBedrock = 0;
  /** Bounded: a proxy meters whatever model names its clients send (see MODELS_KEPT). */
  private readonly builder = new TallyBuilder(new KeptNames());

  constructor(keepAll: boolean) {
    this.records = keepAll ? [] : null;
  }

  add(record: CallRecord): void {
    this.count++;
    this.records?.push(record);
    this.builder.add(record);
    if (!record.ok && record.provider === 'bedrock' && record.error?.includes(REFUSED)) this.refusedBedrock++;
    if (!record.ok && record.error && !record.error.includes(REFUSED)) {
      this.failedCount++;
      if (this.failures.length < LISTED_FAILURES) this.failures.push(record.error);
    }
  }

  tally(): Tally {
    return this.builder.tally();
  }
}

/**
 * Every call of the session into the ledger, as run and stream record theirs, but never with
 * prompts or replies: the proxy keeps none. --ledger FILE, --no-ledger (false), else the default.
 */
export function ledgerHook(command: 'exec' | 'proxy', ledger: string | false | undefined, io: Io, runId: string = randomUUID(), tags?: Tags): (record: CallRecord) => void {
  const path = ledgerPath({ ledger }, io.env);
  if (!path) return () => undefined;
  const writer = new LedgerWriter(path, (m) => io.err(`llm-usage: warning: ${m}\n`));
  return (record) => writer.appendSoon(entryOf(record, { command, runId, tags }));
}

/**
 * What exec and proxy share before anything starts: every option and variable checked (a bad
 * one is a UsageError, and nothing runs), the price table, and where each call goes once
 * metered: the session's calls, then the ledger.
 */
export function openSession(
  command: 'exec' | 'proxy',
  opts: MeteringOptions,
  io: Io,
): { calls: SessionCalls; proxy: Omit<ProxyOptions, 'host' | 'port' | 'onRecord'>; tags: Tags; record(r: CallRecord): void; close(): Promise<void> } {
  const upstreams = upstreamsOf({ openai: opts.openaiUpstream, anthropic: opts.anthropicUpstream, azure: opts.azureUpstream, bedrock: opts.bedrockUpstream, google: opts.googleUpstream, compat: opts.upstream }, io.env);
  const proxyEnv = proxyEnvOf(io.env);
  const limits = limitsOf(io.env);
  if (opts.report) checkReportPath(opts.report);
  const pricing = opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined);
  const table = loadPriceTable(pricing);
  const calls = new SessionCalls(opts.json || Boolean(opts.report));
  const tags = tagsOf(opts.tags, io.env);
  const runId = randomUUID();
  const ledger = ledgerHook(command, opts.ledger, io, runId, tags);
  const telemetry: CallSink | null = openTelemetry({ ctx: { command, runId, tags }, env: io.env, warn: (line) => io.err(line + '\n'), longRunning: command === 'proxy' });
  // Bedrock's default upstream is each request's own region: not known here, so no server.address.
  const servers: Partial<Record<string, Server | null>> = { openai: serverOf(upstreams.openai), anthropic: serverOf(upstreams.anthropic), bedrock: serverOf(upstreams.bedrock ?? undefined) };
  return {
    calls,
    proxy: { upstreams, proxyEnv, limits, table, pricing, maxCostUsd: opts.maxCost },
    tags,
    record(r) {
      calls.add(r);
      ledger(r);
      telemetry?.record(r, servers[r.provider] ?? null);
    },
    close: async () => telemetry?.close(),
  };
}

/** `run --json`'s object, then what only the proxy knows: pass-throughs and refusals. */
export function sessionJson(s: MeteredSession, tally: Tally = s.calls.tally()): Record<string, unknown> {
  return {
    ...summaryJson(s.calls.records ?? [], tally),
    requests: s.stats.requests,
    unmetered_requests: s.stats.unmetered,
    refused_requests: Object.values(s.stats.refused).reduce((n, k) => n + k, 0),
    refused_by_reason: s.stats.refused,
    max_cost_usd: s.maxCostUsd ?? null,
  };
}

/**
 * The summary on stderr (stdout belongs to the wrapped program): the table and its notes, or
 * with `json` the JSON object; with `report`, the JSON object also goes to that file.
 */
export function reportSession(s: MeteredSession, opts: { json: boolean; report?: string }, io: Io): void {
  const tally = s.calls.tally();
  const json = opts.json || opts.report ? JSON.stringify(sessionJson(s, tally), null, 2) + '\n' : '';
  if (opts.json) io.err(json);
  else {
    const { count, failures, failedCount, refusedBedrock } = s.calls;
    io.err(renderSummary(tally, io.colourErr) + renderProxyNotes({ calls: count, failures, failedCount, refusedBedrock, maxCostUsd: s.maxCostUsd, ...s.stats }, io.colourErr));
  }
  if (opts.report) {
    try {
      writeFileSync(opts.report, json);
    } catch (e) {
      throw new CliError(`cannot write the report to ${opts.report}: ${(e as Error).message}`, 1);
    }
  }
}

/** Fails before anything runs when the report could not be written at the end. */
export function checkReportPath(file: string): void {
  const path = resolve(file);
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new Error('it is a directory');
    accessSync(dirname(path), constants.W_OK);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message;
    throw new UsageError(`--report ${file}: cannot write there (${reason})`);
  }
}

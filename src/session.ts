import { randomUUID } from 'node:crypto';
import { worstCaseOf } from './budget.js';
import { CallFailed, Interrupted, UsageError, redactKeys } from './errors.js';
import type { Io } from './io.js';
import { entryOf, ledgerPath, LedgerWriter } from './ledger.js';
import { checkProviderServes, planCalls, type CallOptions } from './plan.js';
import { loadPriceTable } from './pricing/table.js';
import type { PriceTable } from './pricing/types.js';
import { providerFor, readyToSend } from './providers/index.js';
import type { CallOutcome, CallSpec } from './providers/types.js';
import { recordOf, type CallRecord } from './record.js';
import { renderBudget } from './render/budget.js';
import { formatUsd } from './render/format.js';
import { renderSummary } from './render/summary.js';
import { summaryJson, tallyOf } from './tally.js';
import { serverOfSpec } from './telemetry/attributes.js';
import { openTelemetry } from './telemetry/index.js';
import { tagsOf } from './telemetry/tags.js';

export interface SessionHooks {
  onText?(call: number, choice: number, delta: string): void;
  onLog?(line: string): void;
  onRecord?(record: CallRecord, spec: CallSpec): void;
}

/**
 * Makes the calls in order and returns one record per call made. A failed call does not stop
 * the others. Ctrl-C aborts the call under way (its partial text and usage are kept) and stops;
 * a second Ctrl-C exits at once.
 */
export async function runCalls(specs: CallSpec[], table: PriceTable, hooks: SessionHooks = {}): Promise<{ records: CallRecord[]; interrupted: boolean }> {
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const records: CallRecord[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      if (interrupted) break;
      const provider = await providerFor(spec.api, spec.provider);
      const started = performance.now();
      let outcome: CallOutcome;
      try {
        outcome = await provider.call(
          { ...spec, signal: controller.signal },
          { onText: (choice, delta) => hooks.onText?.(i, choice, delta), onLog: hooks.onLog },
        );
      } catch (e) {
        // The SDK refused to send (it validates some parameters itself): nothing went out.
        outcome = { text: [], model: null, usage: null, failure: { kind: 'http', message: `request not sent: ${(e as Error).message}` } };
      }
      const record = await recordOf(spec, outcome, performance.now() - started, table);
      records.push(record);
      hooks.onRecord?.(record, spec);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return { records, interrupted };
}

export interface SessionOptions {
  json: boolean;
  verbose: boolean;
  pricing?: string;
  /** Refuse before sending when the worst case exceeds this many dollars. */
  maxCost?: number;
  /** Print the worst case and send nothing. */
  dryRun?: boolean;
  /** --ledger FILE, or false for --no-ledger. */
  ledger?: string | false;
  logContent?: boolean;
  /** --tag KEY=VALUE, each; LLM_USAGE_TAGS adds to them. */
  tags?: string[];
}

/**
 * run and stream: plan the calls, check the spending limit before sending anything, make the
 * calls, then report them (and record them in the ledger).
 */
export async function executePlan(command: string, prompts: string[], opts: CallOptions & SessionOptions, io: Io): Promise<void> {
  const table = loadPriceTable(opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined));
  const tags = tagsOf(opts.tags, io.env);
  let specs = planCalls(prompts, opts, io.env, !opts.dryRun);
  if (specs[0]) checkProviderServes(specs[0], opts.provider !== undefined, table);
  if (!opts.dryRun) specs = await readyToSend(specs, io.env);
  if (opts.dryRun || opts.maxCost !== undefined) {
    const budget = await worstCaseOf(specs, table, opts.maxCost);
    if (opts.dryRun) {
      io.out(opts.json ? JSON.stringify(budget, null, 2) + '\n' : renderBudget(budget, io.colourOut));
      return;
    }
    const limit = formatUsd(opts.maxCost as number);
    if (budget.total_usd === null) {
      const why = budget.calls.find((c) => c.unknown_because)?.unknown_because;
      throw new UsageError(`--max-cost ${limit}: cannot bound the cost (${why}); nothing was sent`);
    }
    if (!budget.within_limit) {
      const prompt = budget.calls.reduce((n, c) => n + c.prompt_tokens, 0);
      const output = budget.calls.reduce((n, c) => n + (c.max_output_tokens ?? 0), 0);
      throw new UsageError(
        `worst case ${formatUsd(budget.total_usd)} (${prompt} prompt + ${output} output tokens) exceeds --max-cost ${limit}; nothing was sent (lower --max-tokens, or see --dry-run)`,
      );
    }
  }
  const path = ledgerPath({ ledger: opts.ledger }, io.env);
  const ledger = path ? new LedgerWriter(path, (m) => io.err(`llm-usage: warning: ${m}\n`)) : null;
  const runId = randomUUID();
  const telemetry = openTelemetry({ ctx: { command, runId, tags }, env: io.env, warn: (line) => io.err(line + '\n') });
  try {
    await callAndReport(specs, table, opts, io, (record, spec) => {
      ledger?.append(entryOf(record, { command, runId, prompt: spec.prompt, logContent: opts.logContent, tags }));
      telemetry?.record(record, serverOfSpec(spec));
    });
  } finally {
    await telemetry?.close();
  }
}

/**
 * Makes the calls, puts replies on stdout as they come (or only JSON with --json), failures as
 * one line each on stderr, then the summary on stderr. `onRecord` sees every call as it ends.
 */
export async function callAndReport(
  specs: CallSpec[],
  table: PriceTable,
  opts: Pick<SessionOptions, 'json' | 'verbose'>,
  io: Io,
  onRecord?: (record: CallRecord, spec: CallSpec) => void,
): Promise<void> {
  const out = coalescingWriter(io.out);
  const extraChoices = new Map<number, string[]>();
  // Whether this call printed text, and whether that text ended a line.
  let printed = false;
  let endedWithNewline = true;

  const { records, interrupted } = await runCalls(specs, table, {
    onText: opts.json
      ? undefined
      : (_call, choice, delta) => {
          if (choice > 0) {
            // Several choices interleave in a stream: show the first live, the others after it.
            const list = extraChoices.get(choice) ?? [];
            list.push(delta);
            extraChoices.set(choice, list);
            return;
          }
          printed = true;
          out.write(delta);
          if (delta) endedWithNewline = delta.endsWith('\n');
        },
    onLog: opts.verbose ? (line) => io.err(`llm-usage: ${redactKeys(line)}\n`) : undefined,
    onRecord: (record, spec) => {
      onRecord?.(record, spec);
      if (!opts.json) {
        for (const [choice, parts] of [...extraChoices.entries()].sort((a, b) => a[0] - b[0])) {
          const text = parts.join('');
          out.write(`${endedWithNewline ? '' : '\n'}\n--- choice ${choice + 1} ---\n${text}`);
          printed = true;
          endedWithNewline = text.endsWith('\n');
        }
        extraChoices.clear();
        if (printed && !endedWithNewline) out.write('\n');
        printed = false;
        endedWithNewline = true;
        out.flush();
      }
      if (record.error) io.err(`llm-usage: ${redactKeys(record.error)}\n`);
    },
  });
  out.flush();

  const tally = tallyOf(records);
  if (opts.json) io.out(JSON.stringify(summaryJson(records, tally), null, 2) + '\n');
  else io.err(renderSummary(tally, io.colourErr, usageHint(specs), table.source));
  if (interrupted) throw new Interrupted();
  if (tally.failed_requests > 0) throw new CallFailed('');
}

/** For chat and legacy completion streams that did not ask for usage: how to get it reported. */
function usageHint(specs: CallSpec[]): string | undefined {
  const unasked = specs.some((s) => s.stream && !s.streamUsage && (s.api === 'chat' || s.api === 'completions'));
  return unasked ? '`stream --usage` asks the provider for it' : undefined;
}

/**
 * Gathers streamed text and writes it once per turn of the event loop: a network read that
 * brings many chunks costs one write, and output still appears as it arrives.
 */
function coalescingWriter(write: (text: string) => void): { write(text: string): void; flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    write(text);
  };
  return {
    write(text) {
      pending.push(text);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

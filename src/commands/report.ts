import { statSync } from 'node:fs';
import { fsProblem, UsageError } from '../errors.js';
import { tableJson } from '../pricing/source.js';
import type { Io } from '../io.js';
import { ledgerPath, scanLedger } from '../ledger.js';
import { renderReport, reportCsv } from '../render/report.js';
import { loadPriceTable } from '../pricing/table.js';
import type { PriceTable } from '../pricing/types.js';
import { priceOf } from '../record.js';
import { ReportBuilder, timeBound, type GroupBy, type Repricer } from '../report.js';
import { badTagKey } from '../telemetry/tags.js';

export interface ReportOptions {
  since?: string;
  until?: string;
  by: string;
  model?: string;
  provider?: string;
  json?: boolean;
  csv?: boolean;
  chart: boolean;
  ledger?: string;
  /** Days and dates in UTC rather than the local time zone (TZ). */
  utc?: boolean;
  /** Price every call again with the table in use now. */
  reprice?: boolean;
  pricing?: string;
}

/** A --since/--until value as an ISO time, or a UsageError saying what is wrong with it. */
function bound(flag: string, value: string, now: Date, wholeDay: boolean, utc: boolean): string {
  const t = timeBound(value, now, wholeDay, utc);
  if (t !== null) return t;
  if (/^\d+[mhdw]$/.test(value.trim())) throw new UsageError(`${flag} ${value.trim()} reaches back before any date: give a smaller age, such as 7d or 2w`);
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) throw new UsageError(`${flag} "${value}" is not a real date or time: give one such as 2026-11-01 or 2026-11-01T08:00:00Z`);
  throw new UsageError(`${flag} "${value}" is not a date (2026-11-01), a time, or an age (30m, 24h, 7d, 2w)`);
}

const GROUPS: GroupBy[] = ['day', 'model', 'provider', 'command'];

/** `llm-usage report`: what the ledger says was spent, grouped and filtered. */
export async function reportCommand(opts: ReportOptions, io: Io): Promise<void> {
  if (opts.by.startsWith('tag:')) {
    const bad = badTagKey(opts.by.slice(4));
    if (bad) throw new UsageError(`--by ${opts.by}: ${bad}`);
  } else if (!GROUPS.includes(opts.by as GroupBy)) throw new UsageError(`--by must be one of ${GROUPS.join(', ')}, or tag:KEY, not "${opts.by}"`);
  if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
  const utc = opts.utc === true;
  const now = new Date();
  const since = opts.since === undefined ? undefined : bound('--since', opts.since, now, false, utc);
  const until = opts.until === undefined ? undefined : bound('--until', opts.until, now, true, utc);
  // Both bounds are inclusive: equal bounds still match a call at that instant.
  if (since !== undefined && until !== undefined && since > until) {
    throw new UsageError(`--since ${opts.since} is after --until ${opts.until}, so no call could match: swap them, or widen the range`);
  }

  const path = ledgerPath({ ledger: opts.ledger }, io.env) as string;
  const unreadable = (e: unknown) => new UsageError(`cannot read the ledger ${path}: ${fsProblem(e)}: check the path given to --ledger or LLM_USAGE_LEDGER`);
  let found;
  try {
    found = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw unreadable(e);
  }
  if (found?.isDirectory()) throw new UsageError(`the ledger ${path} is a directory: give the ledger file with --ledger FILE or LLM_USAGE_LEDGER`);
  const pricingFile = opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined);
  if (pricingFile && !opts.reprice) throw new UsageError('--pricing only changes a report with --reprice: add --reprice, or leave --pricing out');
  const table = opts.reprice ? loadPriceTable(pricingFile) : null;
  const notes = new Set<string>();
  const builder = new ReportBuilder({ since, until, by: opts.by as GroupBy, model: opts.model, provider: opts.provider, utc }, table ? repricerOf(table, notes) : undefined);
  if (found) {
    let skipped = 0;
    let tornAt = 0;
    try {
      await scanLedger(path, (e) => builder.add(e), (line, torn) => {
        skipped++;
        if (torn) tornAt = line;
      });
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).code) throw e;
      throw unreadable(e);
    }
    if (tornAt) io.err(`llm-usage: warning: skipped a torn last line (${tornAt}) in ${path}, likely a crash mid-write\n`);
    if (builder.badTimes) io.err(`llm-usage: warning: skipped ${builder.badTimes} line(s) whose time is not a time in ${path}\n`);
    if (skipped > (tornAt ? 1 : 0)) io.err(`llm-usage: warning: skipped ${skipped - (tornAt ? 1 : 0)} unreadable line(s) in ${path}\n`);
  } else if (!opts.json && !opts.csv) {
    io.err(`llm-usage: no ledger yet at ${path}: run, stream, exec and proxy record calls there\n`);
  }
  const { rows, total } = builder.result();
  // Data only on stdout with --json and --csv: what a re-pricing must say goes to stderr there.
  if ((opts.json || opts.csv) && notes.size) for (const note of notes) io.err(`llm-usage: cost note: ${note}\n`);
  if (opts.json) io.out(JSON.stringify(rows.map((r) => ({ [opts.by]: r.key, ...r, ...(table ? { price_table: tableJson(table.source) } : {}) })), null, 2) + '\n');
  else if (opts.csv) io.out(reportCsv(rows, opts.by as GroupBy));
  else io.out(renderReport(rows, total, opts.by as GroupBy, io.colourOut, opts.chart, utc ? 'UTC' : localZoneName(io.env.TZ), table ? { source: table.source, notes: [...notes] } : undefined));
}

/**
 * Prices a ledger line again with `table`, from the usage parts and service tier the ledger keeps;
 * `notes` collects what must be said of the prices used (a tier priced at standard rates).
 * A call that failed before the provider processed it cost nothing, whatever the table says.
 */
function repricerOf(table: PriceTable, notes: Set<string>): Repricer {
  return (e) => {
    if (e.usage_source === 'none') return 0;
    const usage = e.service_tier ? { ...e.usage, service_tier: e.service_tier } : e.usage;
    try {
      const priced = priceOf(usage, [e.model], e.provider, table);
      // A tier the table has no price for: priced at standard rates, and the report says so.
      if (priced.price_note) notes.add(priced.price_note);
      return priced.cost_usd;
    } catch {
      // A hand-edited line whose cached tokens exceed its input cannot be priced: unpriced, as any unknown.
      return null;
    }
  };
}

/**
 * The local time zone's name for the Day column: TZ as the user spelled it when it names a zone
 * (ICU would say Asia/Calcutta for Asia/Kolkata), else the zone Intl resolved.
 */
function localZoneName(tz: string | undefined): string {
  if (tz) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return tz;
    } catch {
      // Not an IANA name (e.g. ":/etc/localtime"): fall through.
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local time';
}

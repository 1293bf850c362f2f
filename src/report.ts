import type { LedgerEntry } from './ledger.js';
import { roundUsd } from './pricing/cost.js';

export type GroupBy = 'day' | 'model' | 'provider' | 'command' | `tag:${string}`;

/** The group of calls without the tag that --by tag:KEY groups by. */
export const UNTAGGED = '(untagged)';

export interface ReportQuery {
  /**
   * Instants as ISO UTC strings (timeBound), compared as strings with the ledger's times, which
   * are ISO UTC (a time written with an offset is converted first): no Date per line. `since`
   * and `until` are both inclusive.
   */
  since?: string;
  until?: string;
  by: GroupBy;
  /** Days are the process's local days (TZ), as people mean "today"; with utc, UTC days. */
  utc?: boolean;
  model?: string;
  provider?: string;
}

/** One group of the report. Costs are the priced part; the shares say how much is not exact. */
export interface ReportRow {
  key: string;
  requests: number;
  ok: number;
  failed: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd: number;
  estimated_requests: number;
  unpriced_requests: number;
  estimated_share: number;
  unpriced_share: number;
  /** With --reprice: what the ledger recorded (cost_usd is then the cost at today's table). */
  recorded_cost_usd?: number;
  recorded_unpriced_requests?: number;
  /** cost_usd − recorded_cost_usd. */
  reprice_difference_usd?: number;
  /** Calls unpriced when recorded that the table in use now prices. */
  newly_priced_requests?: number;
}

/** A call's cost with the table in use now (`report --reprice`), or null when still unpriced. */
export type Repricer = (e: LedgerEntry) => number | null;

function emptyRow(key: string): ReportRow {
  return {
    key,
    requests: 0,
    ok: 0,
    failed: 0,
    input_tokens: 0,
    cached_tokens: 0,
    output_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
    estimated_requests: 0,
    unpriced_requests: 0,
    estimated_share: 0,
    unpriced_share: 0,
  };
}

/** Aggregates ledger entries one at a time (the file is streamed into it). Pure. */
export class ReportBuilder {
  private readonly groups = new Map<string, ReportRow>();
  private readonly total = emptyRow('total');
  private readonly model?: string;
  /** KEY of --by tag:KEY. */
  private readonly tag: string | null;

  constructor(
    private readonly q: ReportQuery,
    private readonly reprice?: Repricer,
  ) {
    this.model = q.model?.toLowerCase();
    this.tag = q.by.startsWith('tag:') ? q.by.slice(4) : null;
    if (reprice) Object.assign(this.total, repricedFields());
  }

  /** Entries whose time is not a time at all: left out, and counted here for a warning. */
  badTimes = 0;

  add(e: LedgerEntry): void {
    const q = this.q;
    const time = utcTime(e.time, q.utc);
    if (time === null) {
      this.badTimes++;
      return;
    }
    if (q.since !== undefined && time < q.since) return;
    if (q.until !== undefined && time > q.until) return;
    if (q.provider !== undefined && e.provider !== q.provider) return;
    if (this.model !== undefined && e.model.toLowerCase() !== this.model && e.priced_as?.split('/')[1]?.toLowerCase() !== this.model) return;
    const key = q.by === 'day' ? this.dayOf(time) : q.by === 'model' ? e.model : q.by === 'provider' ? e.provider : this.tag === null ? e.command : (e.tags?.[this.tag] ?? UNTAGGED);
    let row = this.groups.get(key);
    if (!row) {
      row = this.reprice ? { ...emptyRow(key), ...repricedFields() } : emptyRow(key);
      this.groups.set(key, row);
    }
    if (this.reprice) {
      const cost = this.reprice(e);
      addTo(row, e, cost);
      addTo(this.total, e, cost);
      return;
    }
    addTo(row, e);
    addTo(this.total, e);
  }

  /**
   * The last few days seen, with their ranges as ISO strings: an entry in one of them costs
   * string comparisons, no Date (ledgers are mostly in time order, merged ones nearly so).
   */
  private days: { from: string; to: string; key: string }[] = [];

  private dayOf(time: string): string {
    for (const d of this.days) if (time >= d.from && time < d.to) return d.key;
    const t = new Date(time);
    const [y, m, day] = this.q.utc ? [t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()] : [t.getFullYear(), t.getMonth(), t.getDate()];
    const midnight = (n: number) => (this.q.utc ? new Date(Date.UTC(y, m, n)) : new Date(y, m, n)).toISOString();
    const key = `${y}-${String(m + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    this.days.unshift({ from: midnight(day), to: midnight(day + 1), key });
    if (this.days.length > 8) this.days.pop();
    return key;
  }

  /** Rows in key order (days ascending), then by cost for the other groupings; and the total. */
  result(): { rows: ReportRow[]; total: ReportRow } {
    const rows = [...this.groups.values()].map(withShares);
    if (this.q.by === 'day') rows.sort((a, b) => a.key.localeCompare(b.key));
    else rows.sort((a, b) => b.cost_usd - a.cost_usd || a.key.localeCompare(b.key));
    return { rows, total: withShares(this.total) };
  }
}

function repricedFields(): Pick<ReportRow, 'recorded_cost_usd' | 'recorded_unpriced_requests' | 'reprice_difference_usd' | 'newly_priced_requests'> {
  return { recorded_cost_usd: 0, recorded_unpriced_requests: 0, reprice_difference_usd: 0, newly_priced_requests: 0 };
}

/** Adds one call; with `repriced` (a cost, or null when unpriced), that is its cost and the ledger's is kept as recorded. */
function addTo(row: ReportRow, e: LedgerEntry, repriced?: number | null): void {
  const u = e.usage;
  row.requests++;
  if (e.ok) row.ok++;
  else row.failed++;
  row.input_tokens += u.input_tokens;
  row.cached_tokens += u.input_token_details?.cache_read ?? 0;
  row.output_tokens += u.output_tokens;
  row.reasoning_tokens += u.output_token_details?.reasoning ?? 0;
  row.total_tokens += u.total_tokens;
  if (repriced !== undefined) {
    if (e.cost_usd === null) row.recorded_unpriced_requests = (row.recorded_unpriced_requests ?? 0) + 1;
    else row.recorded_cost_usd = (row.recorded_cost_usd ?? 0) + e.cost_usd;
    if (e.cost_usd === null && repriced !== null) row.newly_priced_requests = (row.newly_priced_requests ?? 0) + 1;
  }
  const cost = repriced === undefined ? e.cost_usd : repriced;
  if (cost === null) row.unpriced_requests++;
  else row.cost_usd += cost;
  if (e.usage_source === 'estimated') row.estimated_requests++;
}

/** The row as it leaves the core: shares filled in, the summed cost rounded once (roundUsd). */
function withShares(row: ReportRow): ReportRow {
  const repriced = row.recorded_cost_usd === undefined ? {} : {
    recorded_cost_usd: roundUsd(row.recorded_cost_usd),
    reprice_difference_usd: roundUsd(row.cost_usd - row.recorded_cost_usd),
  };
  return {
    ...row,
    ...repriced,
    cost_usd: roundUsd(row.cost_usd),
    estimated_share: row.requests ? row.estimated_requests / row.requests : 0,
    unpriced_share: row.requests ? row.unpriced_requests / row.requests : 0,
  };
}

/**
 * A ledger time as an ISO UTC string: what the ledger writes is returned as is (no Date per
 * line); a time written with an offset becomes the instant it names; one without an offset is
 * read as --since reads it (local, or UTC with `utc`). Null when it is not a time.
 */
export function utcTime(time: string, utc = false): string | null {
  if (time.length === 24 && time.charCodeAt(23) === 90 /* Z */ && time.charCodeAt(10) === 84 /* T */ && time.charCodeAt(19) === 46 /* . */) return time;
  return instantOf(time, false, utc);
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A --since/--until value as an ISO UTC instant: an age such as 30m, 24h, 7d, 2w before `now`;
 * a time with an offset (2026-11-01T08:00+02:00, or Z); a time without one, or a date, read in
 * the local time zone (TZ), or in UTC with `utc`, the same days the report groups by. A date
 * is its midnight; with `wholeDay` (--until), its last millisecond, so the day is included
 * (bounds are inclusive, as is --until with a time). Null when it is none of these.
 */
export function timeBound(value: string, now: Date = new Date(), wholeDay = false, utc = false): string | null {
  const v = value.trim();
  const age = /^(\d+)([mhdw])$/.exec(v);
  if (age) {
    // An age so large it reaches before the years a Date can hold is no time at all.
    const t = new Date(now.getTime() - Number(age[1]) * (UNIT_MS[age[2] as string] as number));
    return Number.isNaN(t.getTime()) ? null : t.toISOString();
  }
  return instantOf(v, wholeDay, utc);
}

function instantOf(v: string, wholeDay: boolean, utc: boolean): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(v);
  if (!m) return null;
  const n = (i: number) => Number(m[i] ?? 0);
  const [y, mo, d, h, mi, s] = [n(1), n(2), n(3), n(4), n(5), n(6)];
  const ms = m[7] ? Number(`${m[7]}00`.slice(0, 3)) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  // 2026-02-30 would roll over into March: not a date.
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return null;
  const zone = m[8]?.toUpperCase();
  let t: Date;
  if (zone) {
    const offsetMin = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMin * 60_000);
  } else if (m[4] === undefined && wholeDay) {
    // The day's last millisecond: the next midnight (local days can be 23 or 25 hours) less 1.
    t = new Date((utc ? Date.UTC(y, mo - 1, d + 1) : new Date(y, mo - 1, d + 1).getTime()) - 1);
  } else {
    t = utc ? new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms)) : new Date(y, mo - 1, d, h, mi, s, ms);
  }
  if (Number.isNaN(t.getTime())) return null;
  return t.toISOString();
}

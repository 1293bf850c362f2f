import type { LedgerEntry } from './ledger.js';

export type GroupBy = 'day' | 'model' | 'provider' | 'command';

export interface ReportQuery {
  /** ISO times, compared as strings: the ledger's times are ISO UTC, so no Date per line. */
  since?: string;
  until?: string;
  by: GroupBy;
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
}

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

  constructor(private readonly q: ReportQuery) {
    this.model = q.model?.toLowerCase();
  }

  add(e: LedgerEntry): void {
    const q = this.q;
    if (q.since !== undefined && e.time < q.since) return;
    if (q.until !== undefined && e.time >= q.until) return;
    if (q.provider !== undefined && e.provider !== q.provider) return;
    if (this.model !== undefined && e.model.toLowerCase() !== this.model && e.priced_as?.split('/')[1]?.toLowerCase() !== this.model) return;
    const key = q.by === 'day' ? e.time.slice(0, 10) : q.by === 'model' ? e.model : q.by === 'provider' ? e.provider : e.command;
    let row = this.groups.get(key);
    if (!row) {
      row = emptyRow(key);
      this.groups.set(key, row);
    }
    addTo(row, e);
    addTo(this.total, e);
  }

  /** Rows in key order (days ascending), then by cost for the other groupings; and the total. */
  result(): { rows: ReportRow[]; total: ReportRow } {
    const rows = [...this.groups.values()].map(withShares);
    if (this.q.by === 'day') rows.sort((a, b) => a.key.localeCompare(b.key));
    else rows.sort((a, b) => b.cost_usd - a.cost_usd || a.key.localeCompare(b.key));
    return { rows, total: withShares(this.total) };
  }
}

function addTo(row: ReportRow, e: LedgerEntry): void {
  const u = e.usage;
  row.requests++;
  if (e.ok) row.ok++;
  else row.failed++;
  row.input_tokens += u.input_tokens;
  row.cached_tokens += u.input_token_details?.cache_read ?? 0;
  row.output_tokens += u.output_tokens;
  row.reasoning_tokens += u.output_token_details?.reasoning ?? 0;
  row.total_tokens += u.total_tokens;
  if (e.cost_usd === null) row.unpriced_requests++;
  else row.cost_usd += e.cost_usd;
  if (e.usage_source === 'estimated') row.estimated_requests++;
}

function withShares(row: ReportRow): ReportRow {
  return {
    ...row,
    estimated_share: row.requests ? row.estimated_requests / row.requests : 0,
    unpriced_share: row.requests ? row.unpriced_requests / row.requests : 0,
  };
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A --since/--until value as an ISO time: a date (2026-11-01, read as UTC midnight; with
 * `wholeDay`, the midnight after it), a full ISO time, or an age such as 30m, 24h, 7d, 2w
 * before `now`. Null when it is none of these.
 */
export function timeBound(value: string, now: Date = new Date(), wholeDay = false): string | null {
  const age = /^(\d+)([mhdw])$/.exec(value.trim());
  if (age) {
    // An age so large it reaches before the years a Date can hold is no time at all.
    const t = new Date(now.getTime() - Number(age[1]) * (UNIT_MS[age[2] as string] as number));
    return Number.isNaN(t.getTime()) ? null : t.toISOString();
  }
  const parts = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value.trim());
  if (!parts) return null;
  // Date rolls 2026-02-30 over to March 2 and takes 24:00; a bound must be a real day and time.
  const [y, mo, d, h, mi, sec] = parts.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return null;
  const dateOnly = parts[4] === undefined;
  const t = new Date(dateOnly ? `${value.trim()}T00:00:00Z` : value.trim());
  if (Number.isNaN(t.getTime())) return null;
  // --until 2026-11-20 means up to the end of that day.
  if (dateOnly && wholeDay) t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString();
}

import type { TableSource } from './types.js';

/** Older than this, an unknown model may be one the table has not caught up with. */
export const STALE_AFTER_DAYS = 30;

/** The day a table's prices are from: the download's day, or the day the built-in table was synced. */
export function tableDate(source: TableSource): string {
  return (source.downloaded ?? source.synced).slice(0, 10);
}

/** Whole days from the table's day to `now`. */
export function tableAgeDays(source: TableSource, now: Date = new Date()): number {
  return Math.max(0, Math.floor((now.getTime() - new Date(tableDate(source)).getTime()) / 86_400_000));
}

/**
 * For an unknown model: when the table in use is more than 30 days old, the hint that a newer
 * table may know it (`prefix` joins it to the message); else nothing.
 */
export function staleTableHint(source: TableSource, now: Date = new Date(), prefix = ': '): string {
  if (tableAgeDays(source, now) <= STALE_AFTER_DAYS) return '';
  return `${prefix}your prices are from ${tableDate(source)}: \`llm-usage pricing update\` may know it`;
}

/** The table, for a footer or JSON: the built-in version, or the download's URL and date. */
export function tableName(source: TableSource): string {
  if (source.origin === 'downloaded') return `${source.url} (downloaded ${tableDate(source)})`;
  return `${source.package} ${source.version} (synced ${source.synced})`;
}

/** What `price --json` and `report --json --reprice` say of the table used. */
export function tableJson(source: TableSource): Record<string, unknown> {
  const base = source.origin === 'downloaded'
    ? { origin: 'downloaded', url: source.url, downloaded: source.downloaded, sha256: source.sha256, file: source.file }
    : { origin: 'built-in', package: source.package, version: source.version, synced: source.synced };
  return { ...base, user_files: source.user_files ?? [] };
}

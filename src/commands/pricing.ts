import type { Io } from '../io.js';
import { tableAgeDays } from '../pricing/source.js';
import { downloadedTablePath, tableInUse } from '../pricing/table.js';
import type { PriceTable } from '../pricing/types.js';
import { renderPricingStatus, renderPricingUpdate, type PricingStatus, type PricingUpdate } from '../render/pricing.js';
import { UsageError } from '../errors.js';

export interface PricingUpdateOptions {
  url?: string;
  /** Seconds for the whole download. */
  timeout: number;
  json?: boolean;
}

/** `llm-usage pricing` / `pricing status`: the table in use, where it came from, how old it is. */
export function pricingStatusCommand(opts: { json?: boolean }, io: Io): void {
  const { table, skipped } = tableInUse();
  const status: PricingStatus = {
    in_use: summaryOf(table),
    download_file: downloadedTablePath(),
    skipped_download: skipped,
  };
  io.out(opts.json ? JSON.stringify(status, null, 2) + '\n' : renderPricingStatus(status, io.colourOut));
}

/**
 * `llm-usage pricing update`: downloads upstream's live data, checks it, keeps our providers,
 * merges our overlay, saves it atomically and says what changed. Any failure changes nothing.
 */
export async function pricingUpdateCommand(opts: PricingUpdateOptions, io: Io): Promise<void> {
  if (!(opts.timeout > 0)) throw new UsageError('--timeout must be a number of seconds above 0');
  const { pricesUrl, download, tableFromDownload, diffTables, saveTable, shownUrl } = await import('../pricing/update.js');
  const url = pricesUrl(opts.url, io.env);
  const before = tableInUse().table;
  const bytes = await download(url, opts.timeout * 1000, io.env);
  const now = new Date();
  const { table, dropped } = tableFromDownload(bytes, url, now);
  const file = downloadedTablePath();
  saveTable(file, table);
  const result: PricingUpdate = {
    url: shownUrl(url),
    bytes: bytes.length,
    sha256: table.source.sha256 as string,
    downloaded: table.source.downloaded as string,
    file,
    compared_with: summaryOf(before),
    diff: diffTables(before.providers, table.providers, now),
    dropped_from_overlay: dropped,
    models: modelCount(table),
  };
  io.out(opts.json ? JSON.stringify(result, null, 2) + '\n' : renderPricingUpdate(result, io.colourOut));
}

function summaryOf(table: PriceTable): PricingStatus['in_use'] {
  return { ...table.source, age_days: tableAgeDays(table.source), providers: table.providers.length, models: modelCount(table) };
}

function modelCount(table: PriceTable): number {
  return table.providers.reduce((n, p) => n + p.models.length, 0);
}

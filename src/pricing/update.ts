import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DownloadFailed, UsageError } from '../errors.js';
import { proxyEnvOf } from '../proxy/routes.js';
import { mergeUpstream, KEPT_PROVIDERS, type Overlay } from './merge.js';
import { priceAt, providerProblem } from './table.js';
import type { ModelPrice, PriceTable, ProviderInfo, Tiered } from './types.js';

/** genai-prices' live data: an array of providers, the shape of the package's bundled data. */
export const DEFAULT_PRICES_URL = 'https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json';

/** Upstream's data is a few MB; anything far larger is not a price table. */
export const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

const OVERLAY = new URL('../../scripts/pricing-overlay.json', import.meta.url);

const unchanged = 'nothing was changed';

/** The URL to download from: --url, else LLM_USAGE_PRICES_URL, else upstream's. A UsageError when it is not http(s). */
export function pricesUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? (env.LLM_USAGE_PRICES_URL || DEFAULT_PRICES_URL);
  const from = flag !== undefined ? '--url' : 'LLM_USAGE_PRICES_URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${from} "${url}" is not a URL: give an http(s) URL of genai-prices' data.json, or leave it out for upstream's`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UsageError(`${from} "${shownUrl(url)}" is not an http(s) URL: give one such as ${DEFAULT_PRICES_URL}`);
  // fetch refuses URLs with credentials (and would echo them in its error): say so first.
  if (parsed.username || parsed.password) throw new UsageError(`${from} "${shownUrl(url)}" has a user name or password in it, which a download cannot send: give a mirror that needs none`);
  return url;
}

/** A URL as printed and saved: a password in it (a mirror behind basic auth) becomes "***". */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Downloads `url` through undici's EnvHttpProxyAgent (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), within
 * `timeoutMs` for the whole body and at most `maxBytes`. Any failure is one DownloadFailed line.
 */
export async function download(url: string, timeoutMs: number, env: NodeJS.ProcessEnv, maxBytes = MAX_DOWNLOAD_BYTES): Promise<Buffer> {
  // The proxy variables checked as exec and proxy check them: a bad one is a UsageError naming it.
  const proxies = proxyEnvOf(env);
  const { EnvHttpProxyAgent, fetch } = await import('undici');
  const dispatcher = new EnvHttpProxyAgent(proxies);
  const signal = AbortSignal.timeout(timeoutMs);
  const fail = (why: string, what = 'check the network (and HTTPS_PROXY), or give a mirror with --url') => new DownloadFailed(`cannot download prices from ${shownUrl(url)}: ${why} (${what}); ${unchanged}`);
  const timedOut = () => fail(`no complete answer within ${timeoutMs / 1000} s`, 'try again, or raise --timeout');
  try {
    const response = await fetch(url, { dispatcher, signal, headers: { accept: 'application/json' }, redirect: 'follow' });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, 'check --url or LLM_USAGE_PRICES_URL');
    }
    const declared = Number(response.headers.get('content-length'));
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw fail(`it is ${declared} bytes, more than ${maxBytes} (a price table is a few MB)`, 'check --url');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > maxBytes) throw fail(`it is more than ${maxBytes} bytes (a price table is a few MB)`, 'check --url');
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  } catch (e) {
    if (e instanceof DownloadFailed) throw e;
    if (signal.aborted) throw timedOut();
    throw fail(causeOf(e).split(url).join(shownUrl(url)));
  } finally {
    void dispatcher.close().catch(() => {});
  }
}

/** The innermost reason a fetch failed: "ECONNREFUSED 127.0.0.1:9", "other side closed". */
function causeOf(e: unknown): string {
  let err = e as { cause?: unknown; code?: string; message?: string };
  while (err.cause && typeof err.cause === 'object') err = err.cause as typeof err;
  return [err.code, err.message].filter((x) => x && x !== 'fetch failed').join(' ') || String(e);
}

/**
 * Reads downloaded bytes as genai-prices data: JSON, an array of providers, and every provider we
 * keep present and valid by the checks the built-in table passes (providerProblem). Anything else
 * is one DownloadFailed line naming what came instead.
 */
export function parseUpstream(bytes: Buffer, url: string): ProviderInfo[] {
  const text = bytes.toString('utf8');
  const head = text.trimStart().slice(0, 200).toLowerCase();
  const bad = (why: string) => new DownloadFailed(`the download from ${shownUrl(url)} ${why}; ${unchanged}`);
  if (head.startsWith('<')) throw bad(`is ${head.startsWith('<!doctype html') || head.startsWith('<html') ? 'an HTML page' : 'markup'}, not price data (a captive portal or an error page?): check the network, or --url`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`is not valid JSON (${bytes.length} bytes; cut short?): ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw bad(`is JSON but not genai-prices data: expected an array of providers, got ${data === null ? 'null' : typeof data === 'object' ? `an object with keys ${Object.keys(data).slice(0, 5).join(', ') || '(none)'}` : typeof data}`);
  for (const id of KEPT_PROVIDERS) {
    const i = data.findIndex((p) => typeof p === 'object' && p !== null && (p as { id?: unknown }).id === id);
    if (i < 0) throw bad(`is not genai-prices data as we know it: it has no provider "${id}"`);
    const problem = providerProblem(data[i], `[${i}]`);
    if (problem) throw bad(`is not valid genai-prices data: ${problem}`);
  }
  return data as ProviderInfo[];
}

/** Our overlay (scripts/pricing-overlay.json, shipped with the package). */
export function readOverlay(): Overlay {
  return JSON.parse(readFileSync(OVERLAY, 'utf8')) as Overlay;
}

/** The table to save: our providers from the download, the overlay merged in, and where it came from. */
export function tableFromDownload(bytes: Buffer, url: string, now: Date, overlay: Overlay = readOverlay()): { table: PriceTable; dropped: string[] } {
  const upstream = parseUpstream(bytes, url);
  let merged;
  try {
    merged = mergeUpstream(upstream, overlay);
  } catch (e) {
    throw new DownloadFailed(`the download from ${shownUrl(url)} cannot be used: ${(e as Error).message}; ${unchanged}`);
  }
  const table: PriceTable = {
    source: {
      package: '@pydantic/genai-prices',
      version: 'live data',
      synced: now.toISOString().slice(0, 10),
      overlay: 'scripts/pricing-overlay.json',
      url: shownUrl(url),
      downloaded: now.toISOString(),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    },
    providers: merged.providers,
  };
  return { table, dropped: merged.dropped };
}

/** Writes the table to `file` atomically: a temporary file beside it, then rename. */
export function saveTable(file: string, table: PriceTable): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(table) + '\n');
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** One price that differs: the part, and its rate per 1M (per 1K for `_kcount`) before and after. */
export interface PriceChange {
  key: string;
  from: number | null;
  to: number | null;
}

/** What a new table changes against the one in use: models added and removed, prices changed. */
export interface TableDiff {
  added: string[];
  removed: string[];
  changed: { model: string; changes: PriceChange[] }[];
}

/** The difference between two tables' models, by provider and model id, at the prices in force `now`. */
export function diffTables(before: readonly ProviderInfo[], after: readonly ProviderInfo[], now: Date = new Date()): TableDiff {
  const index = (providers: readonly ProviderInfo[]) => new Map(providers.flatMap((p) => p.models.map((m) => [`${p.id}/${m.id}`, m] as const)));
  const old = index(before);
  const neu = index(after);
  const diff: TableDiff = { added: [], removed: [], changed: [] };
  for (const [id, model] of neu) {
    const was = old.get(id);
    if (!was) {
      diff.added.push(id);
      continue;
    }
    if (JSON.stringify(was.prices) === JSON.stringify(model.prices)) continue;
    const a = priceAt(was, now);
    const b = priceAt(model, now);
    const changes = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .map((key) => ({ key, from: baseRate(a[key]), to: baseRate(b[key]), same: JSON.stringify(a[key]) === JSON.stringify(b[key]) }))
      .filter((c) => !c.same)
      .map(({ key, from, to }) => ({ key, from, to }));
    // The prices in force now are the same: a dated price was added or moved.
    diff.changed.push({ model: id, changes });
  }
  for (const id of old.keys()) if (!neu.has(id)) diff.removed.push(id);
  return diff;
}

function baseRate(p: ModelPrice[string]): number | null {
  if (p === undefined) return null;
  return typeof p === 'number' ? p : (p as Tiered).base;
}

// The pure parts of `pricing update`: the merge shared with scripts/sync-pricing.mjs, the
// difference it prints, and what it refuses to read.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KEPT_PROVIDERS, mergeUpstream } from '../src/pricing/merge.js';
import type { ModelInfo, PriceTable, ProviderInfo } from '../src/pricing/types.js';
import { diffTables, download, parseUpstream, pricesUrl, readOverlay, shownUrl, tableFromDownload } from '../src/pricing/update.js';

const builtIn = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8')) as PriceTable;
const model = (id: string, prices: ModelInfo['prices']): ModelInfo => ({ id, match: { equals: id }, prices });
const provider = (id: string, models: ModelInfo[]): ProviderInfo => ({ id, name: id, models });
const allKept = (extra: Partial<Record<string, ModelInfo[]>> = {}) => KEPT_PROVIDERS.map((id) => provider(id, extra[id] ?? [model(`${id}-m`, { input_mtok: 1 })]));

describe('mergeUpstream', () => {
  it('keeps our providers in our order, puts overlay models first, and drops an overlay entry upstream now has', () => {
    const upstream = [provider('not-kept', []), ...allKept({ openai: [model('gpt-x', { input_mtok: 1 }), model('davinci-002', { input_mtok: 9, output_mtok: 9 })] })].reverse();
    const overlay = { providers: [{ id: 'openai', models: [model('davinci-002', { input_mtok: 2, output_mtok: 2 }), model('babbage-002', { input_mtok: 0.4, output_mtok: 0.4 })] }] };
    const { providers, dropped } = mergeUpstream(upstream, overlay);
    expect(providers.map((p) => p.id)).toEqual([...KEPT_PROVIDERS]);
    expect(providers[0]?.models.map((m) => m.id)).toEqual(['babbage-002', 'gpt-x', 'davinci-002']);
    // Upstream's own davinci-002 price, not the overlay's.
    expect(providers[0]?.models.find((m) => m.id === 'davinci-002')?.prices).toEqual({ input_mtok: 9, output_mtok: 9 });
    expect(dropped).toEqual(['openai/davinci-002']);
  });

  it('the built-in table is this merge of the bundled data and our overlay (the sync uses it)', () => {
    expect(builtIn.providers.map((p) => p.id)).toEqual([...KEPT_PROVIDERS]);
    const overlay = readOverlay();
    for (const o of overlay.providers) {
      const p = builtIn.providers.find((x) => x.id === o.id) as ProviderInfo;
      expect(p.models.slice(0, o.models.length).map((m) => m.id)).toEqual(o.models.map((m) => m.id));
    }
  });

  it('every overlay entry says where its price comes from', () => {
    for (const o of readOverlay().providers) for (const m of o.models) expect(m.price_comments, m.id).toMatch(/^Overlay: .*(https?:\/\/|pricing)/);
  });
});

describe('diffTables', () => {
  it('names models added and removed, and each price that changed at today\'s prices', () => {
    const before = [provider('openai', [model('a', { input_mtok: 1, output_mtok: 2 }), model('gone', { input_mtok: 1 }), model('same', { input_mtok: 1 })])];
    const after = [provider('openai', [model('a', { input_mtok: 1.5, output_mtok: 2, web_searches_kcount: 10 }), model('same', { input_mtok: 1 }), model('new', { input_mtok: 3 })])];
    expect(diffTables(before, after)).toEqual({
      added: ['openai/new'],
      removed: ['openai/gone'],
      changed: [{ model: 'openai/a', changes: [{ key: 'input_mtok', from: 1, to: 1.5 }, { key: 'web_searches_kcount', from: null, to: 10 }] }],
    });
  });

  it('a dated price added for later is a change with nothing different today', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    const before = [provider('openai', [model('a', { input_mtok: 1 })])];
    const after = [provider('openai', [model('a', [{ prices: { input_mtok: 1 } }, { constraint: { start_date: '2027-01-01' }, prices: { input_mtok: 2 } }])])];
    expect(diffTables(before, after, now).changed).toEqual([{ model: 'openai/a', changes: [] }]);
  });
});

describe('what pricing update refuses', () => {
  const url = 'https://mirror.example/data.json';
  const refuses = (body: string) => () => parseUpstream(Buffer.from(body), url);
  it('HTML, non-JSON, other JSON, missing or invalid providers: each a DownloadFailed (exit 1) naming it', () => {
    expect(refuses('  <html><body>login</body></html>')).toThrow(/is markup, not price data|is an HTML page/);
    expect(refuses('[{"id": "openai", "mod')).toThrow(/is not valid JSON \(\d+ bytes; cut short\?\)/);
    expect(refuses('"just a string"')).toThrow(/expected an array of providers, got string/);
    expect(refuses('[]')).toThrow(/it has no provider "openai"/);
    const bad = allKept({ groq: [{ id: 'x', match: { equals: 'x' }, prices: { input_mtok: 'free' } } as unknown as ModelInfo] });
    expect(refuses(JSON.stringify(bad))).toThrow(/is not valid genai-prices data: \[\d+\] \("groq"\)\.models\[0\] \("x"\)\.prices\.input_mtok must be a non-negative number/);
    let thrown: unknown = null;
    try {
      refuses('<!DOCTYPE html>')();
    } catch (e) {
      thrown = e;
    }
    expect((thrown as { exitCode?: number } | null)?.exitCode).toBe(1);
  });

  it('the saved table records the URL, the time and the SHA-256 of the bytes', () => {
    const bytes = Buffer.from(JSON.stringify(allKept()));
    const now = new Date('2026-12-02T10:00:00Z');
    const { table } = tableFromDownload(bytes, url, now, { providers: [] });
    expect(table.source).toMatchObject({ url, downloaded: '2026-12-02T10:00:00.000Z', synced: '2026-12-02', sha256: createHash('sha256').update(bytes).digest('hex') });
  });

  it('a password in the URL is never printed or saved', () => {
    const secret = 'https://me:hunter2-SECRET@mirror.example/data.json';
    expect(shownUrl(secret)).toBe('https://me:***@mirror.example/data.json');
    expect(() => parseUpstream(Buffer.from('<html>'), secret)).toThrow(/^the download from https:\/\/me:\*\*\*@mirror\.example\/data\.json is /);
    const { table } = tableFromDownload(Buffer.from(JSON.stringify(allKept())), secret, new Date(), { providers: [] });
    expect(JSON.stringify(table)).not.toContain('SECRET');
  });

  it('--url and LLM_USAGE_PRICES_URL must be http(s) URLs (exit 2)', () => {
    expect(pricesUrl(undefined, {})).toBe('https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json');
    expect(pricesUrl(undefined, { LLM_USAGE_PRICES_URL: 'http://10.0.0.1/p.json' })).toBe('http://10.0.0.1/p.json');
    expect(() => pricesUrl('not a url', {})).toThrow(/^--url "not a url" is not a URL/);
    expect(() => pricesUrl(undefined, { LLM_USAGE_PRICES_URL: 'file:///etc/passwd' })).toThrow(/^LLM_USAGE_PRICES_URL "file:\/\/\/etc\/passwd" is not an http\(s\) URL/);
  });
});

describe('the size cap', () => {
  it('a body past the cap is refused, whether its length is declared or not', async () => {
    const body = Buffer.alloc(5000, 'x');
    const server = http.createServer((req, res) => {
      if (req.url === '/declared') res.writeHead(200, { 'content-length': body.length });
      else res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(download(`${base}/declared`, 5000, {}, 1000)).rejects.toThrow(/: it is 5000 bytes, more than 1000 \(a price table is a few MB\) \(check --url\); nothing was changed$/);
      await expect(download(`${base}/chunked`, 5000, {}, 1000)).rejects.toThrow(/: it is more than 1000 bytes \(a price table is a few MB\) \(check --url\); nothing was changed$/);
      expect((await download(`${base}/chunked`, 5000, {}, 5000)).length).toBe(5000);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

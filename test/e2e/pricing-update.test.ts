// `llm-usage pricing update` end to end: a loopback server plays upstream's live URL, serving
// genai-prices' own format (the installed package's bundled data) with a model added and a price
// changed, and the bad answers a real network gives. XDG_DATA_HOME is a temporary directory.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForUpdate } from '@pydantic/genai-prices';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { priceAt } from '../../src/pricing/table.js';
import type { ModelInfo, PriceTable, ProviderInfo } from '../../src/pricing/types.js';
import { runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const builtIn = JSON.parse(readFileSync(new URL('../../pricing.json', import.meta.url), 'utf8')) as PriceTable;
const builtInModel = (provider: string, id: string) => builtIn.providers.find((p) => p.id === provider)?.models.find((m) => m.id === id) as ModelInfo;

// gpt-4o's input price today, and the upstream data with it raised by $0.50 and a new model.
const GPT4O = priceAt(builtInModel('openai', 'gpt-4o')) as Record<string, number>;
const NEW_INPUT = (GPT4O.input_mtok as number) + 0.5;
const NEW_MODEL = { id: 'gpt-test-7', name: 'GPT Test 7', match: { equals: 'gpt-test-7' }, context_window: 100000, prices: { input_mtok: 7, output_mtok: 21 } };

let upstream: ProviderInfo[];
let live: Buffer;
let server: http.Server;
let base: string;
const hits: string[] = [];

/** The routes a real network can answer with. */
function route(path: string, res: http.ServerResponse): void {
  const send = (status: number, body: string | Buffer, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (path === '/data.json') return send(200, live);
  if (path === '/portal') return send(200, '<!DOCTYPE html><html><body>Sign in to the hotel Wi-Fi</body></html>', 'text/html');
  if (path === '/truncated') return send(200, live.subarray(0, Math.floor(live.length / 2)));
  if (path === '/wrong-shape') return send(200, JSON.stringify({ message: 'ok', data: [] }));
  if (path === '/no-openai') return send(200, JSON.stringify(upstream.filter((p) => p.id !== 'openai')));
  if (path === '/bad-price') {
    const broken = structuredClone(upstream);
    ((broken.find((p) => p.id === 'anthropic') as ProviderInfo).models[0] as ModelInfo).prices = { input_mtok: -1 };
    return send(200, JSON.stringify(broken));
  }
  if (path === '/stall') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
    res.write('[');
    return; // never ends: the client's timeout must
  }
  send(404, 'Not Found', 'text/plain');
}

beforeAll(async () => {
  upstream = structuredClone((await waitForUpdate()) as unknown as ProviderInfo[]);
  const openai = upstream.find((p) => p.id === 'openai') as ProviderInfo;
  openai.models.push(NEW_MODEL as ModelInfo);
  const gpt4o = openai.models.find((m) => m.id === 'gpt-4o') as ModelInfo;
  gpt4o.prices = { ...(priceAt(gpt4o) as Record<string, number>), input_mtok: NEW_INPUT };
  live = Buffer.from(JSON.stringify(upstream));
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    route(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let data: string;
beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'llm-usage-e2e-prices-'));
});
// Never a proxy from the machine running the tests, unless a test sets one.
const env = (extra: Record<string, string | undefined> = {}) => ({ XDG_DATA_HOME: data, HTTPS_PROXY: undefined, HTTP_PROXY: undefined, https_proxy: undefined, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined, ...extra });
const saved = () => join(data, 'llm-usage', 'pricing.json');

describe('llm-usage pricing update', () => {
  it('downloads, names the model added and the price changed, saves with URL, time and hash; every command then uses it', async () => {
    const before = await runCli(['pricing'], { env: env() });
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^Prices in use: built-in, @pydantic\/genai-prices \d+\.\d+\.\d+ \(synced \d{4}-\d{2}-\d{2}\)$/m);
    expect(before.stdout).toContain(`No downloaded table: \`llm-usage pricing update\` saves upstream's current prices in ${saved()}.`);

    const url = `${base}/data.json`;
    const started = Date.now();
    const r = await runCli(['pricing', 'update', '--url', url], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Downloaded ${url} (${live.length.toLocaleString('en-US')} bytes, sha256 ${createHash('sha256').update(live).digest('hex').slice(0, 16)}…).`);
    expect(r.stdout).toMatch(/^ {2}1 model added: openai\/gpt-test-7$/m);
    const fmt = (x: number) => `$${x.toFixed(2)}`;
    expect(r.stdout).toMatch(/^ {2}prices changed for 1 model:$/m);
    expect(r.stdout).toContain(`    openai/gpt-4o: input ${fmt(GPT4O.input_mtok as number)} → ${fmt(NEW_INPUT)} / 1M\n`);
    expect(r.stdout).not.toMatch(/no longer listed/);

    const table = JSON.parse(readFileSync(saved(), 'utf8')) as PriceTable;
    expect(table.source).toMatchObject({ url, sha256: createHash('sha256').update(live).digest('hex'), package: '@pydantic/genai-prices' });
    expect(Date.parse(table.source.downloaded as string)).toBeGreaterThanOrEqual(started - 1000);
    // Our providers only, in our order, with our overlay merged in.
    expect(table.providers.map((p) => p.id)).toEqual(builtIn.providers.map((p) => p.id));
    expect(table.providers.find((p) => p.id === 'openai')?.models.some((m) => m.id === 'davinci-002')).toBe(true);
    expect(table.providers.find((p) => p.id === 'aws')?.models.some((m) => m.id === 'anthropic.claude-v2')).toBe(true);

    const status = await runCli(['pricing', 'status'], { env: env() });
    expect(status.stdout).toMatch(new RegExp(`^Prices in use: downloaded, ${url.replace(/[.]/g, '\\.')} \\(downloaded \\d{4}-\\d{2}-\\d{2}\\)$`, 'm'));
    expect(status.stdout).toContain(`saved in ${saved()}`);
    expect(status.stdout).toMatch(/from today; 15 providers/);

    const price = await runCli(['price', '-m', 'gpt-test-7', '-i', '1000', '-o', '1000'], { env: env() });
    expect(price.code, price.stderr).toBe(0);
    expect(price.stdout).toMatch(/│ Total\s+│\s+2,000 │\s+│\s+\$0\.028 │/); // 1000 × $7 + 1000 × $21 per 1M
    expect(price.stdout).toMatch(new RegExp(`Prices per 1M tokens from ${url.replace(/[.]/g, '\\.')} \\(downloaded \\d{4}-\\d{2}-\\d{2}\\)\\.`));
    const json = JSON.parse((await runCli(['price', '-m', 'gpt-4o', '--json'], { env: env() })).stdout);
    expect(json.prices_per_million.input).toBe(NEW_INPUT);
    expect(json.price_table).toMatchObject({ origin: 'downloaded', url, file: saved() });

    // --pricing still layers on top of the download.
    const mine = join(data, 'mine.json');
    writeFileSync(mine, JSON.stringify([{ id: 'openai', models: [{ id: 'gpt-test-7', match: { equals: 'gpt-test-7' }, prices: { input_mtok: 1, output_mtok: 1 } }] }]));
    const layered = JSON.parse((await runCli(['price', '-m', 'gpt-test-7', '--pricing', mine, '--json'], { env: env() })).stdout);
    expect(layered.prices_per_million.input).toBe(1);
    expect(layered.price_table).toMatchObject({ origin: 'downloaded', url, user_files: [mine] });

    const again = await runCli(['pricing', 'update', '--url', url], { env: env() });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Already current: the same models and prices as the table in use before \(downloaded, /m);
  });

  it('LLM_USAGE_PRICES_URL names a mirror; the built-in table is used again once the download is gone', async () => {
    const r = await runCli(['pricing', 'update'], { env: env({ LLM_USAGE_PRICES_URL: `${base}/data.json` }) });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(saved())).toBe(true);
    const status = JSON.parse((await runCli(['pricing', '--json'], { env: env() })).stdout);
    expect(status.in_use).toMatchObject({ origin: 'downloaded', url: `${base}/data.json`, age_days: 0 });
    rmSync(saved());
    const after = JSON.parse((await runCli(['pricing', '--json'], { env: env() })).stdout);
    expect(after.in_use).toMatchObject({ origin: 'built-in', version: builtIn.source.version });
    expect(after.skipped_download).toBeNull();
  });

  const bad: [string, RegExp][] = [
    ['/portal', /^llm-usage: the download from http:\/\/127\.0\.0\.1:\d+\/portal is an HTML page, not price data \(a captive portal or an error page\?\): check the network, or --url; nothing was changed\n$/],
    ['/truncated', /^llm-usage: the download from \S+\/truncated is not valid JSON \(\d+ bytes; cut short\?\): .+; nothing was changed\n$/],
    ['/missing', /^llm-usage: cannot download prices from \S+\/missing: HTTP 404 Not Found \(check --url or LLM_USAGE_PRICES_URL\); nothing was changed\n$/],
    ['/wrong-shape', /^llm-usage: the download from \S+\/wrong-shape is JSON but not genai-prices data: expected an array of providers, got an object with keys message, data; nothing was changed\n$/],
    ['/no-openai', /^llm-usage: the download from \S+\/no-openai is not genai-prices data as we know it: it has no provider "openai"; nothing was changed\n$/],
    ['/bad-price', /^llm-usage: the download from \S+\/bad-price is not valid genai-prices data: \[\d+\] \("anthropic"\)\.models\[0\] \("[^"]+"\)\.prices\.input_mtok must be a non-negative number, got -1; nothing was changed\n$/],
  ];
  it.each(bad)('%s: one line, exit 1, nothing on stdout, and the table in use is unchanged', async (path, says) => {
    // First a good table, so "unchanged" is about a real file.
    expect((await runCli(['pricing', 'update', '--url', `${base}/data.json`], { env: env() })).code).toBe(0);
    const good = readFileSync(saved());
    const r = await runCli(['pricing', 'update', '--url', `${base}${path}`], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(says);
    expect(readFileSync(saved()).equals(good)).toBe(true);
  });

  it('a server that never finishes: the timeout, one line, exit 1, and no file', async () => {
    const t0 = Date.now();
    const r = await runCli(['pricing', 'update', '--url', `${base}/stall`, '--timeout', '1'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^llm-usage: cannot download prices from \S+\/stall: no complete answer within 1 s \(try again, or raise --timeout\); nothing was changed\n$/);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(existsSync(saved())).toBe(false);
  });

  it('nothing listening: one line naming the refusal, exit 1', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await runCli(['pricing', 'update', '--url', `http://127.0.0.1:${port}/data.json`], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^llm-usage: cannot download prices from \S+: ECONNREFUSED .*\(check the network \(and HTTPS_PROXY\), or give a mirror with --url\); nothing was changed\n$/);
  });

  it('bad input is exit 2: a URL that is not http(s)', async () => {
    const r = await runCli(['pricing', 'update', '--url', 'ftp://example.com/data.json'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^llm-usage: --url "ftp:\/\/example\.com\/data\.json" is not an http\(s\) URL: give one such as https:\/\/raw\.githubusercontent\.com\/.+\n$/);
  });

  it('a proxy variable that is not a URL is bad input naming it, not an internal error (regression)', async () => {
    const r = await runCli(['pricing', 'update', '--url', `${base}/data.json`], { env: env({ HTTPS_PROXY: 'http://u:SECRET@[bad' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('llm-usage: HTTPS_PROXY is not a URL (expected e.g. http://proxy.example:3128)\n');
    expect(existsSync(saved())).toBe(false);
  });

  it('a URL with a password is bad input, and the password is never printed (regression: fetch echoed it)', async () => {
    const r = await runCli(['pricing', 'update', '--url', `http://me:hunter2-SECRET@127.0.0.1:9/data.json`], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('llm-usage: --url "http://me:***@127.0.0.1:9/data.json" has a user name or password in it, which a download cannot send: give a mirror that needs none\n');
    expect(r.stdout + r.stderr).not.toContain('SECRET');
  });

  it('a download older than the built-in table (llm-usage was upgraded since) is not used, and `pricing` says why', async () => {
    await runCli(['pricing', 'update', '--url', `${base}/data.json`], { env: env() });
    const table = JSON.parse(readFileSync(saved(), 'utf8')) as PriceTable;
    table.source.downloaded = '2020-01-01T00:00:00.000Z';
    writeFileSync(saved(), JSON.stringify(table));
    const status = await runCli(['pricing'], { env: env() });
    expect(status.stdout).toMatch(/^Prices in use: built-in, /m);
    expect(status.stdout).toContain(`The downloaded table ${saved()} is not used: it is older than the built-in one (downloaded 2020-01-01, built-in synced ${builtIn.source.synced}).`);
    expect(JSON.parse((await runCli(['price', '-m', 'gpt-4o', '--json'], { env: env() })).stdout).prices_per_million.input).toBe(GPT4O.input_mtok);
  });

  it('a damaged download is not used, and `pricing` says so', async () => {
    const file = saved();
    await runCli(['pricing', 'update', '--url', `${base}/data.json`], { env: env() });
    writeFileSync(file, '{"source": {"downloaded": "2026-12-0');
    const status = await runCli(['pricing'], { env: env() });
    expect(status.stdout).toMatch(/^Prices in use: built-in, /m);
    expect(status.stdout).toContain(`The downloaded table ${file} is not used: it cannot be read (`);
    const price = await runCli(['price', '-m', 'gpt-4o', '--json'], { env: env() });
    expect(JSON.parse(price.stdout).price_table.origin).toBe('built-in');
  });
});

describe('through HTTPS_PROXY', () => {
  const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
  it('an https mirror is reached through the proxy\'s CONNECT tunnel', async () => {
    const secure = https.createServer({ key: readFileSync(fixture('key.pem')), cert: readFileSync(fixture('cert.pem')) }, (req, res) => route(req.url ?? '', res));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    const port = (secure.address() as AddressInfo).port;
    const connects: string[] = [];
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      sockets.add(client);
      client.once('data', (head) => {
        const line = head.toString('latin1').split('\r\n')[0] ?? '';
        connects.push(line);
        const target = /^CONNECT [^ ]+:(\d+) HTTP\/1\.1$/.exec(line);
        if (!target) return client.end('HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n');
        const upstreamSocket = net.connect(Number(target[1]), '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstreamSocket.pipe(client);
          client.pipe(upstreamSocket);
        });
        sockets.add(upstreamSocket);
        upstreamSocket.on('error', () => client.destroy());
      });
      client.on('error', () => {});
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://localhost:${port}/data.json`;
      const r = await runCli(['pricing', 'update', '--url', url], {
        env: env({ HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, NODE_EXTRA_CA_CERTS: fixture('cert.pem') }),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(connects).toEqual([`CONNECT localhost:${port} HTTP/1.1`]);
      expect(r.stdout).toMatch(/1 model added: openai\/gpt-test-7/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  });
});

describe('report --reprice over calls recorded before the update', () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake.close());

  it('prices every call with the table in use now, shows what was recorded and the difference; the unknown model gets a price', async () => {
    const ledger = join(data, 'ledger.jsonl');
    const callEnv = env({ OPENAI_API_KEY: 'sk-test-reprice', OPENAI_BASE_URL: `${fake.url}/v1`, LLM_USAGE_LEDGER: ledger });
    fake.setDefault({ usage: { input: 1000, output: 500 } });
    expect((await runCli(['run', '-m', 'gpt-4o', 'hi'], { env: callEnv })).code).toBe(0);
    const unknown = await runCli(['run', '-m', 'gpt-test-7', 'hi'], { env: callEnv });
    expect(unknown.code).toBe(0);
    expect(unknown.stderr).toContain('cost unknown: no price for model "gpt-test-7"');
    const recorded = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const oldCost = (1000 * (GPT4O.input_mtok as number) + 500 * (GPT4O.output_mtok as number)) / 1e6;
    expect(recorded[0].cost_usd).toBeCloseTo(oldCost, 12);
    expect(recorded[0].service_tier).toBe('default');
    expect(recorded[1].cost_usd).toBeNull();

    expect((await runCli(['pricing', 'update', '--url', `${base}/data.json`], { env: env() })).code).toBe(0);

    // run uses the downloaded table too, and its summary says so.
    const after = await runCli(['run', '-m', 'gpt-test-7', '--no-ledger', 'hi'], { env: callEnv });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/│ Total Cost \(USD\)\s+│\s+\$0\.0175 │ prices downloaded \d{4}-\d{2}-\d{2}: openai\/gpt-test-7\s+│/);

    // Without --reprice the report is what was recorded.
    const plain = JSON.parse((await runCli(['report', '--by', 'model', '--json', '--ledger', ledger], { env: env() })).stdout);
    expect(plain.find((r: { model: string }) => r.model === 'gpt-4o').cost_usd).toBeCloseTo(oldCost, 12);
    expect(plain[0].recorded_cost_usd).toBeUndefined();

    const r = await runCli(['report', '--by', 'model', '--reprice', '--json', '--ledger', ledger], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const gpt4o = rows.find((row) => row.model === 'gpt-4o') as Record<string, number>;
    const newCost = (1000 * NEW_INPUT + 500 * (GPT4O.output_mtok as number)) / 1e6;
    expect(gpt4o.cost_usd).toBeCloseTo(newCost, 12);
    expect(gpt4o.recorded_cost_usd).toBeCloseTo(oldCost, 12);
    expect(gpt4o.reprice_difference_usd).toBeCloseTo((1000 * 0.5) / 1e6, 12);
    const test7 = rows.find((row) => row.model === 'gpt-test-7') as Record<string, number>;
    expect(test7).toMatchObject({ unpriced_requests: 0, recorded_unpriced_requests: 1, newly_priced_requests: 1 });
    expect(test7.cost_usd).toBeCloseTo((1000 * 7 + 500 * 21) / 1e6, 12); // $0.0175
    expect((rows[0] as { price_table: { origin: string } }).price_table.origin).toBe('downloaded');

    const text = await runCli(['report', '--by', 'model', '--reprice', '--no-chart', '--ledger', ledger], { env: env() });
    expect(text.stdout).toMatch(/│ Model\s+│ Requests │ .* │ Cost now │\s+Recorded │ Difference │/);
    expect(text.stdout).toMatch(/│ gpt-test-7\s+│ .*│\s+\$0\.0175 │\s+unknown │\s+\+\$0\.0175 │/);
    expect(text.stdout).toMatch(/│ gpt-4o\s+│ .*│\s+\+\$0\.0005 │/);
    expect(text.stdout).toContain('1 call was unpriced when recorded and has a price now.');
    expect(text.stdout).toMatch(/^Re-priced with http:\/\/127\.0\.0\.1:\d+\/data\.json \(downloaded \d{4}-\d{2}-\d{2}\);/m);

    const csv = (await runCli(['report', '--by', 'model', '--reprice', '--csv', '--ledger', ledger], { env: env() })).stdout;
    expect(csv.split('\n')[0]).toMatch(/,recorded_cost_usd,reprice_difference_usd,recorded_unpriced_requests,newly_priced_requests$/);
  });

  it('--pricing without --reprice would change nothing: exit 2', async () => {
    const r = await runCli(['report', '--pricing', fileURLToPath(new URL('../../pricing.json', import.meta.url))], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^llm-usage: --pricing only changes a report with --reprice: add --reprice, or leave --pricing out\n$/);
  });
});

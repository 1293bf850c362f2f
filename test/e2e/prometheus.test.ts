import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { roundUsd } from '../../src/pricing/cost.js';
import { shownName } from '../../src/render/format.js';
import { MODELS_KEPT } from '../../src/tally.js';
import { BIN } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';

const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Proxy {
  child: ChildProcess;
  origin: string;
  port: number;
  err(): string;
  waitForErr(pattern: RegExp): Promise<void>;
  stop(): Promise<number | null>;
}

/** `llm-usage proxy --port 0 ARGS` on loopback, once it has printed its base URLs. */
function startProxy(args: string[], extraEnv: Record<string, string> = {}): Promise<Proxy> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|LLM_USAGE|OTEL)_/.test(k)) env[k] = v;
  Object.assign(env, { NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null', OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url }, extraEnv);
  const child = spawn(process.execPath, [BIN, 'proxy', '--host', '127.0.0.1', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`proxy exited ${code}: ${stderr}`)));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const origin = /^ANTHROPIC_BASE_URL=(\S+)$/m.exec(stdout)?.[1];
      if (!origin) return;
      resolve({
        child,
        origin,
        port: Number(new URL(origin).port),
        err: () => stderr,
        async waitForErr(pattern) {
          for (let i = 0; i < 500 && !pattern.test(stderr); i++) await new Promise((r) => setTimeout(r, 10));
          expect(stderr).toMatch(pattern);
        },
        stop() {
          child.kill('SIGINT');
          return exited;
        },
      });
    });
  });
}

function chat(origin: string, model: string): Promise<Response> {
  return fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me a joke' }] }),
  });
}

function anthropicStream(origin: string): Promise<Response> {
  return fetch(`${origin}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Tell me a joke' }] }),
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function until<T>(what: string, get: () => Promise<T | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await get();
      if (v !== null && v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

describe('proxy: GET /metrics on the proxy\'s own port', () => {
  it('answers /metrics itself by default and never routes it upstream; with --no-metrics it is no route, and not forwarded either', async () => {
    const on = await startProxy(['--quiet']);
    const r = await fetch(`${on.origin}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await r.text()).toContain('# TYPE llm_usage_tokens_total counter');
    expect((await fetch(`${on.origin}/metrics`, { method: 'POST' })).status).toBe(405);
    // A call still goes upstream, and /metrics is not counted as a request of the proxy's.
    fake.queue({ usage: { input: 11, output: 16 } });
    await (await chat(on.origin, 'gpt-3.5-turbo-0125')).text();
    const text = await (await fetch(`${on.origin}/metrics`)).text();
    expect(text).toContain('llm_usage_tokens_total{provider="openai",model="gpt-3.5-turbo-0125",type="input"} 11');
    expect(text).toContain('llm_usage_proxy_requests_total{kind="metered",reason=""} 1');
    expect(await on.stop()).toBe(0);

    const off = await startProxy(['--no-metrics', '--quiet']);
    const none = await fetch(`${off.origin}/metrics`);
    expect(none.status).toBe(404);
    expect(await off.stop()).toBe(0);
    expect(fake.requests.map((q) => q.path)).toEqual(['/v1/chat/completions']);
  });
});

describe('proxy: a client that names a new model in every call', () => {
  it('shows a name of any length by its start and length in the line of each call and in the failures; the ledger keeps it whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-usage-long-name-'));
    const ledger = join(dir, 'ledger.jsonl');
    const long = `sprayed-${'x'.repeat(200_000)}`;
    // OpenAI's 404 for an unknown model echoes its name.
    fake.queue({ status: 404, errorMessage: `The model \`${long}\` does not exist or you do not have access to it.` });
    const proxy = await startProxy([], { LLM_USAGE_LEDGER: ledger });
    const missing = await chat(proxy.origin, long);
    expect(missing.status).toBe(404);
    expect((await missing.text()).length).toBeGreaterThan(200_000);
    const ok = await chat(proxy.origin, long);
    expect(ok.status).toBe(200);
    await ok.text();
    expect(await proxy.stop()).toBe(0);

    // Booleans and lengths: a failing toContain would print 200,000 characters.
    const err = proxy.err();
    const shown = shownName(long);
    // The name as the provider's message echoes it: at most 500 characters of that message.
    expect(err.includes('x'.repeat(500))).toBe(false);
    expect(err.length).toBeLessThan(10_000);
    const line = (n: number) => err.split('\n').find((l) => l.startsWith(`llm-usage: #${n} `)) ?? '';
    expect(line(1).startsWith(`llm-usage: #1 openai ${shown} chat: failed: openai ${shown}: 404 invalid_request_error: The model \`sprayed-xxx`)).toBe(true);
    expect(line(1).endsWith('(check the model name and --openai-upstream or OPENAI_BASE_URL)')).toBe(true);
    expect(line(2).startsWith(`llm-usage: #2 openai ${shown} chat: 11 + 16 = 27 tokens, unknown`)).toBe(true);
    expect(err.includes(`llm-usage: openai ${shown}: 404 invalid_request_error:`)).toBe(true);
    // Too long a name to keep apart in the summary (MODEL_NAME_LENGTH_KEPT).
    expect(err.includes('cost unknown: no price for some of the models counted as (other models)')).toBe(true);

    const entries = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; ok: boolean });
    expect(entries.map((e) => [e.model === long, e.ok])).toEqual([
      [true, false],
      [true, true],
    ]);
  });

  it('grows neither /metrics nor the summary past MODELS_KEPT names: the rest are one series and one row, and every token is still counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-usage-models-'));
    const report = join(dir, 'summary.json');
    const proxy = await startProxy(['--quiet', '--report', report]);
    const names = Array.from({ length: MODELS_KEPT + 5 }, (_, i) => `sprayed-${i}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < names.length) await (await chat(proxy.origin, names[next++] as string)).text();
      }),
    );
    const text = await (await fetch(`${proxy.origin}/metrics`)).text();
    const labelled = new Set([...text.matchAll(/model="([^"]*)"/g)].map((m) => m[1]));
    expect(labelled.size).toBe(MODELS_KEPT);
    const counted = [...text.matchAll(/^llm_usage_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(counted).toBe(names.length);
    expect(text).toMatch(/^llm_usage_requests_total\{provider="openai",otel_metric_overflow="true",outcome="ok"\} 5$/m);
    const input = [...text.matchAll(/^llm_usage_tokens_total\{[^}]*type="input"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(await proxy.stop()).toBe(0);
    const summary = JSON.parse(readFileSync(report, 'utf8'));
    expect(summary.prompt_tokens).toBeGreaterThan(0);
    expect(input).toBe(summary.prompt_tokens);
    expect(summary.by_model.reduce((n: number, m: { prompt_tokens: number }) => n + m.prompt_tokens, 0)).toBe(summary.prompt_tokens);
    expect(summary.successful_requests).toBe(names.length);
    expect(summary.by_model).toHaveLength(MODELS_KEPT + 1);
    expect(summary.by_model.at(-1)).toMatchObject({ model: '(other models)', requests: 5 });
    expect(summary.other_models_after).toBe(MODELS_KEPT);
  }, 60_000);
});

describe('a real Prometheus server scraping proxy /metrics', () => {
  it('holds the token and cost totals of the proxy\'s own summary', async () => {
    const version = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
    // Not a skip: without Prometheus this test cannot show what it is for, so it fails.
    expect(version.error, 'prometheus is not installed: apt-get install -y prometheus (.ci/run installs it)').toBeUndefined();

    const dir = mkdtempSync(join(tmpdir(), 'llm-usage-prometheus-'));
    const report = join(dir, 'summary.json');
    const proxy = await startProxy(['--tag', 'team=search', '--metrics-tags', '--report', report]);
    const promPort = await freePort();
    const prom = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: llm-usage-proxy\n    static_configs:\n      - targets: ['127.0.0.1:${proxy.port}']\n`,
    );
    const server = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(server);
    let promLog = '';
    server.stderr?.setEncoding('utf8').on('data', (d: string) => (promLog += d));
    try {
      await until('Prometheus to be ready', async () => ((await fetch(`${prom}/-/ready`)).ok ? true : null));

      fake.queue({ usage: { input: 11, output: 16 } }, { usage: { input: 1520, cached: 1000, output: 100 } }, { usage: { input: 30, output: 5 } }, { usage: { input: 7, output: 3 } });
      await (await chat(proxy.origin, 'gpt-3.5-turbo-0125')).text();
      await (await chat(proxy.origin, 'gpt-4o')).text();
      await (await anthropicStream(proxy.origin)).text();
      await (await chat(proxy.origin, 'my-local-model')).text();
      await proxy.waitForErr(/#4 /);
      const recorded = Date.now();

      // A scrape that began after the last call was recorded has every call in it.
      await until('a scrape after the calls', async () => {
        const targets = await (await fetch(`${prom}/api/v1/targets`)).json();
        const t = targets.data.activeTargets[0];
        return t && t.health === 'up' && Date.parse(t.lastScrape) > recorded + 50 ? t : null;
      });
      const query = async (q: string) => {
        const r = await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`)).json();
        expect(r.status, q).toBe('success');
        expect(r.data.result, q).toHaveLength(1);
        return Number(r.data.result[0].value[1]);
      };
      const promTotals = {
        input: await query('sum(llm_usage_tokens_total{type="input"})'),
        output: await query('sum(llm_usage_tokens_total{type="output"})'),
        cached: await query('sum(llm_usage_token_details_total{type="cache_read"})'),
        cost: await query('sum(llm_usage_cost_usd_total)'),
        requests: await query('sum(llm_usage_requests_total{outcome="ok"})'),
        unpriced: await query('sum(llm_usage_unpriced_requests_total)'),
        tagged: await query('sum(llm_usage_tokens_total{tag_team="search"})'),
      };

      expect(await proxy.stop()).toBe(0);
      const summary = JSON.parse(readFileSync(report, 'utf8'));
      expect(summary.total_tokens).toBe(11 + 16 + 1520 + 100 + 30 + 5 + 7 + 3);
      expect(promTotals.input).toBe(summary.prompt_tokens);
      expect(promTotals.output).toBe(summary.completion_tokens);
      expect(promTotals.input + promTotals.output).toBe(summary.total_tokens);
      expect(promTotals.tagged).toBe(summary.total_tokens);
      expect(promTotals.cached).toBe(summary.cached_tokens);
      expect(promTotals.requests).toBe(summary.successful_requests);
      expect(summary.cost_complete).toBe(false);
      expect(promTotals.unpriced).toBe(1);
      expect(summary.known_cost_usd).toBeGreaterThan(0);
      // Both are sums of the same per-call costs; the summary's is rounded to 12 significant digits.
      expect(roundUsd(promTotals.cost)).toBe(summary.known_cost_usd);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.on('close', resolve)));
    }
    expect(promLog).not.toMatch(/level=error/);
  }, 60_000);
});

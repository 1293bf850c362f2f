import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.js';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider.mjs';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedMetric } from '../support/otlp-receiver.mjs';

const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0123456789';
const ANTHROPIC_KEY = 'sk-ant-SECRETanthropicKEY0123456789';
const OTLP_TOKEN = 'OTLPSECRETtoken';
const PROMPT = 'a-distinctive-prompt-never-to-be-exported';
const REPLY = 'a-distinctive-reply-never-to-be-exported';
const CLIENT = join(process.cwd(), 'test/support/clients/plain-http.mjs');

let fake: FakeProvider;
let rx: OtlpReceiver;
beforeAll(async () => {
  fake = await startFakeProvider();
  rx = await startOtlpReceiver();
});
afterAll(async () => {
  await fake.close();
  await rx.close();
});
beforeEach(() => {
  fake.reset();
  rx.reset();
});

const dir = mkdtempSync(join(tmpdir(), 'llm-usage-otlp-'));
let n = 0;
const ledgerFile = () => join(dir, `ledger-${++n}.jsonl`);

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY, OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url, ...extra };
}

const otel = (extra: Record<string, string> = {}) => env({ OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, ...extra });

function metric(name: string): ReceivedMetric | undefined {
  return rx.metrics.find((m) => m.name === name && m.points.length > 0);
}

/** Nothing private reached the collector: no key, prompt or reply, in any request body or header. */
function expectNothingPrivateExported(): void {
  expect(rx.requests.length).toBeGreaterThan(0);
  for (const r of rx.requests) {
    const text = r.body.toString('latin1') + JSON.stringify(r.decoded) + JSON.stringify(r.headers).replace(OTLP_TOKEN, '');
    for (const secret of ['SECRET', PROMPT, REPLY]) expect(text).not.toContain(secret);
  }
}

describe('OpenTelemetry export (OTLP over HTTP) from run, stream, exec and proxy', () => {
  it('run: over http/protobuf, the GenAI metrics and a span per call, with the resource of OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES', async () => {
    fake.queue({ text: REPLY, usage: { input: 1200, cached: 1000, output: 80, reasoning: 30 } });
    const ledger = ledgerFile();
    const r = await runCli(['run', '-m', 'gpt-4o-mini', '--json', '--ledger', ledger, '--tag', 'project=search', PROMPT], {
      env: otel({ LLM_USAGE_TAGS: 'team=ml', OTEL_SERVICE_NAME: 'agent-a', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=ci', OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${OTLP_TOKEN}` }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const call = JSON.parse(r.stdout).calls[0];
    const entry = JSON.parse(readFileSync(ledger, 'utf8').trim());

    expect(rx.requests.map((q) => [q.path, q.contentType]).sort()).toEqual([
      ['/v1/metrics', 'application/x-protobuf'],
      ['/v1/traces', 'application/x-protobuf'],
    ]);
    // OTEL_EXPORTER_OTLP_HEADERS reached the collector (a collector's or vendor's key goes there).
    for (const q of rx.requests) expect(q.headers.authorization).toBe(`Bearer ${OTLP_TOKEN}`);

    const common = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'server.address': '127.0.0.1',
      'server.port': fake.port,
      'llm_usage.command': 'run',
      'llm_usage.tag.project': 'search',
      'llm_usage.tag.team': 'ml',
    };
    const tokens = metric('gen_ai.client.token.usage') as ReceivedMetric;
    expect(tokens).toMatchObject({ unit: '{token}', kind: 'histogram', temporality: 1 });
    expect(tokens.points.map((p) => [p.attributes, p.count, p.sum])).toEqual([
      [{ ...common, 'gen_ai.token.type': 'input' }, 1, 1200],
      [{ ...common, 'gen_ai.token.type': 'output' }, 1, 80],
    ]);
    const duration = metric('gen_ai.client.operation.duration') as ReceivedMetric;
    expect(duration).toMatchObject({ unit: 's', kind: 'histogram' });
    expect(duration.points).toHaveLength(1);
    expect(duration.points[0]?.attributes).toEqual(common);
    expect(duration.points[0]?.sum).toBeCloseTo(call.duration_ms / 1000, 2);
    const cost = metric('gen_ai.client.operation.cost') as ReceivedMetric;
    expect(cost).toMatchObject({ unit: 'USD', kind: 'histogram' });
    expect(cost.points.map((p) => [p.attributes, p.count, p.sum])).toEqual([[{ ...common, 'llm_usage.usage_source': 'reported' }, 1, call.cost_usd]]);
    expect(call.cost_usd).toBeGreaterThan(0);
    expect(metric('llm_usage.unpriced_calls')).toBeUndefined();
    expect(tokens.resource).toMatchObject({ 'service.name': 'agent-a', 'deployment.environment.name': 'ci', 'telemetry.sdk.name': 'opentelemetry', 'telemetry.sdk.language': 'nodejs' });
    expect(tokens.scope).toMatchObject({ name: 'llm-usage', schemaUrl: 'https://opentelemetry.io/schemas/1.41.0' });

    expect(rx.spans).toHaveLength(1);
    const span = rx.spans[0]!;
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(span.attributes).toEqual({
      ...common,
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 80,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.cache_creation.input_tokens': 0,
      'gen_ai.usage.reasoning.output_tokens': 30,
      'llm_usage.cost_usd': call.cost_usd,
      'llm_usage.usage_source': 'reported',
      'llm_usage.run_id': entry.run_id,
    });
    expect(Number(span.endNs - span.startNs) / 1e6).toBeCloseTo(call.duration_ms, -1);
    expect(span.resource['service.name']).toBe('agent-a');
    expectNothingPrivateExported();
  });

  it('stream: over http/json; an unpriced call records no cost point and counts on llm_usage.unpriced_calls', async () => {
    fake.queue({ text: REPLY, usage: { input: 12, output: 7 } });
    const r = await runCli(['stream', '--usage', '-m', 'my-local-model', '--provider', 'openai', '--base-url', `${fake.url}/v1`, PROMPT], { env: otel({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(REPLY);
    expect(rx.requests.map((q) => q.contentType)).toEqual(['application/json', 'application/json']);
    expect(metric('gen_ai.client.token.usage')?.points.map((p) => p.sum)).toEqual([12, 7]);
    expect(metric('gen_ai.client.operation.cost')).toBeUndefined();
    const unpriced = metric('llm_usage.unpriced_calls') as ReceivedMetric;
    expect(unpriced).toMatchObject({ kind: 'sum', monotonic: true, unit: '{call}' });
    expect(unpriced.points.map((p) => [p.value, p.attributes['gen_ai.request.model'], p.attributes['llm_usage.command']])).toEqual([[1, 'my-local-model', 'stream']]);
    expect(rx.spans.map((s) => s.name)).toEqual(['chat my-local-model']);
    expect(rx.spans[0]?.attributes).not.toHaveProperty('llm_usage.cost_usd');
    expectNothingPrivateExported();
  });

  it('a failed call: its duration with error.type, no token points, and a span with an error status; the exit code stays 1', async () => {
    fake.queue({ status: 401 });
    const r = await runCli(['run', '-m', 'gpt-4o-mini', PROMPT], { env: otel() });
    expect(r.code).toBe(1);
    expect(metric('gen_ai.client.token.usage')).toBeUndefined();
    expect(metric('gen_ai.client.operation.duration')?.points[0]?.attributes).toMatchObject({ 'error.type': '401', 'gen_ai.request.model': 'gpt-4o-mini' });
    expect(metric('gen_ai.client.operation.duration')?.points[0]?.attributes).not.toHaveProperty('gen_ai.response.model');
    expect(rx.spans[0]?.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(rx.spans[0]?.attributes).toMatchObject({ 'error.type': '401', 'llm_usage.usage_source': 'none' });
    expectNothingPrivateExported();
  });

  it('exec: every call the program makes, attributed to exec, its tags and the upstream it went to', async () => {
    fake.queue({ text: REPLY, usage: { input: 11, output: 16 } }, { text: REPLY, usage: { input: 30, output: 5 } });
    const ledger = ledgerFile();
    const r = await runCli(['exec', '--tag', 'project=agent', '--ledger', ledger, '--', process.execPath, CLIENT, '/dev/null', 'chat', 'messages'], { env: otel() });
    expect(r.code, r.stderr).toBe(0);
    const runId = JSON.parse(readFileSync(ledger, 'utf8').split('\n')[0] as string).run_id;
    expect(rx.spans.map((s) => [s.name, s.attributes['gen_ai.provider.name'], s.attributes['llm_usage.command'], s.attributes['llm_usage.tag.project'], s.attributes['server.port'], s.attributes['llm_usage.run_id']]).sort()).toEqual([
      ['chat claude-3-5-haiku-20241022', 'anthropic', 'exec', 'agent', fake.port, runId],
      ['chat gpt-3.5-turbo-0125', 'openai', 'exec', 'agent', fake.port, runId],
    ]);
    const inputs = metric('gen_ai.client.token.usage')?.points.filter((p) => p.attributes['gen_ai.token.type'] === 'input').map((p) => p.sum);
    expect(inputs?.sort((a, b) => (a as number) - (b as number))).toEqual([11, 30]);
    expectNothingPrivateExported();
  });

  it('proxy: metrics go out every OTEL_METRIC_EXPORT_INTERVAL while it runs, and what is left when it stops', async () => {
    const { child, base, stderr } = await startProxy(otel({ OTEL_METRIC_EXPORT_INTERVAL: '300' }));
    fake.queue({ text: REPLY, usage: { input: 21, output: 4 } });
    const reply = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }) });
    expect((await reply.json()).usage.prompt_tokens).toBe(21);
    // Periodic export: the call's tokens arrive while the proxy still runs.
    for (let i = 0; i < 100 && !metric('gen_ai.client.token.usage'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(child.exitCode).toBeNull();
    expect(metric('gen_ai.client.token.usage')?.points.map((p) => [p.sum, p.attributes['llm_usage.command']])).toEqual([
      [21, 'proxy'],
      [4, 'proxy'],
    ]);
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, stderr()).toBe(0);
    expect(rx.spans.map((s) => [s.name, s.attributes['gen_ai.usage.input_tokens']])).toEqual([['chat gpt-4o-mini', 21]]);
    expectNothingPrivateExported();
  });
});

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** `llm-usage proxy --quiet` with this environment: its OpenAI base URL once it is listening, and its stderr so far. */
async function startProxy(e: Record<string, string>): Promise<{ child: ChildProcess; base: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'proxy', '--port', '0', '--quiet'], { env: { ...process.env, NO_COLOR: '1', LLM_USAGE_LEDGER: '/dev/null', ...e }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const base = await new Promise<string>((resolve) =>
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^OPENAI_BASE_URL=(\S+)$/m.exec(stdout);
      if (m) resolve(m[1] as string);
    }),
  );
  return { child, base, stderr: () => stderr };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function timed(args: string[], e: Record<string, string>) {
  const started = performance.now();
  const r = await runCli(args, { env: e });
  return { ...r, ms: performance.now() - started };
}

describe('a collector that is down or slow costs one warning line and a second or two, never the result or the exit code', () => {
  it('down (nothing listens) and slow (never answers): same stdout, same exit code, one line on stderr', async () => {
    const hanging = await startOtlpReceiver({ mode: 'hang' });
    try {
      const collectors = { down: `http://127.0.0.1:${await freePort()}`, slow: hanging.url };
      const args = ['run', '-m', 'gpt-4o-mini', '--json', PROMPT];
      fake.setDefault({ text: REPLY, usage: { input: 11, output: 16 } });
      const off = await timed(args, env());
      expect(off.code).toBe(0);
      for (const [what, url] of Object.entries(collectors)) {
        const r = await timed(args, env({ OTEL_EXPORTER_OTLP_ENDPOINT: url }));
        expect(r.code, what).toBe(0);
        expect(JSON.parse(r.stdout).calls[0].text).toBe(REPLY);
        expect(JSON.parse(r.stdout).total_tokens).toBe(27);
        const lines = r.stderr.split('\n').filter(Boolean);
        expect(lines, what).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^llm-usage: warning: OpenTelemetry export of (metrics|spans) to ${url}/v1/(metrics|traces) failed \\((ECONNREFUSED|timed out)\\): not sent`));
        // The SDK's own start-up is part of it; the collector adds at most its bounded wait.
        expect(r.ms - off.ms, what).toBeLessThan(3500);
      }
      // A failed call keeps its exit code too.
      fake.queue({ status: 401 });
      const failed = await timed(['run', '-m', 'gpt-4o-mini', PROMPT], env({ OTEL_EXPORTER_OTLP_ENDPOINT: collectors.down }));
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/llm-usage: warning: OpenTelemetry export/);
    } finally {
      await hanging.close();
    }
  });
});

describe('a collector that is down or slow does not hold up the proxy', () => {
  it('one warning line, the summary, exit 0, and a stop that stays quick', async () => {
    const hanging = await startOtlpReceiver({ mode: 'hang' });
    try {
      for (const url of [`http://127.0.0.1:${await freePort()}`, hanging.url]) {
        const { child, base, stderr } = await startProxy(env({ OTEL_EXPORTER_OTLP_ENDPOINT: url }));
        fake.queue({ usage: { input: 11, output: 16 } });
        const reply = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${OPENAI_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] }) });
        expect(reply.status).toBe(200);
        await reply.text();
        const stopped = performance.now();
        child.kill('SIGINT');
        const code = await new Promise((resolve) => child.on('close', resolve));
        expect(code, url).toBe(0);
        expect(performance.now() - stopped, url).toBeLessThan(4000);
        expect(stderr()).toMatch(/│ Tokens Used\s+│\s+27 │/);
        expect(stderr().split('\n').filter((l) => l.includes('OpenTelemetry'))).toHaveLength(1);
      }
    } finally {
      await hanging.close();
    }
  });
});

describe('--tag end to end: the ledger, the export, report --by tag:KEY', () => {
  it('tags each call in the ledger and the export; report groups by a tag', async () => {
    const ledger = ledgerFile();
    fake.setDefault({ usage: { input: 100, output: 10 } });
    for (const [tags, extra] of [
      [['--tag', 'project=search'], {}],
      [['--tag', 'project=search', '--tag', 'customer=acme'], {}],
      [[], { LLM_USAGE_TAGS: 'project=ads' }],
      [[], {}],
    ] as [string[], Record<string, string>][]) {
      const r = await runCli(['run', '-m', 'gpt-4o-mini', '--ledger', ledger, ...tags, PROMPT], { env: otel(extra) });
      expect(r.code, r.stderr).toBe(0);
    }
    const entries = readFileSync(ledger, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => e.tags)).toEqual([{ project: 'search' }, { project: 'search', customer: 'acme' }, { project: 'ads' }, undefined]);
    expect(rx.spans.map((s) => s.attributes['llm_usage.tag.project'] ?? null)).toEqual(['search', 'search', 'ads', null]);
    const report = await runCli(['report', '--ledger', ledger, '--by', 'tag:project', '--json']);
    expect(report.code, report.stderr).toBe(0);
    const rows = JSON.parse(report.stdout);
    expect(rows.map((r: { key: string; requests: number; input_tokens: number }) => [r.key, r.requests, r.input_tokens])).toEqual([
      ['search', 2, 200],
      // Equal costs: in key order.
      ['(untagged)', 1, 100],
      ['ads', 1, 100],
    ]);
    expect(rows[0]['tag:project']).toBe('search');
    const table = await runCli(['report', '--ledger', ledger, '--by', 'tag:customer', '--no-chart']);
    expect(table.stdout).toMatch(/│ Tag customer\s+│/);
    expect(table.stdout).toMatch(/│ acme\s+│\s+1 │/);
  });

  it('bad tags and bad OTEL_* variables: exit 2, one line, nothing sent', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['run', '--tag', 'project', PROMPT], {}, /^llm-usage: --tag "project": expected KEY=VALUE/],
      [['stream', '--tag', '1x=y', PROMPT], {}, /^llm-usage: --tag "1x" is not a tag key/],
      [['run', PROMPT], { LLM_USAGE_TAGS: 'team' }, /^llm-usage: LLM_USAGE_TAGS: "team": expected KEY=VALUE/],
      [['exec', '--tag', 'a=1', '--tag', 'a=2', '--', process.execPath, CLIENT, '/dev/null', 'chat'], {}, /^llm-usage: --tag a is given twice/],
      [['proxy', '--port', '0', '--tag', 'x='], {}, /^llm-usage: --tag x= has no value/],
      [['run', PROMPT], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^llm-usage: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: llm-usage exports OTLP over HTTP only/],
      [['exec', '--', process.execPath, CLIENT, '/dev/null', 'chat'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /^llm-usage: OTEL_EXPORTER_OTLP_ENDPOINT: OTLP over HTTP needs an http/],
      [['report', '--by', 'tag:'], {}, /^llm-usage: --by tag:: "" is not a tag key/],
      [['proxy', '--port', '0', '--no-metrics', '--metrics-tags'], {}, /^llm-usage: --metrics-tags labels what \/metrics serves: drop --no-metrics/],
    ];
    for (const [args, extra, message] of cases) {
      const r = await runCli(args, { env: env(extra) });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(fake.requests).toEqual([]);
    expect(rx.requests).toEqual([]);
  });
});

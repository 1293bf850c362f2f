import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { entryOf } from '../src/ledger.js';
import type { CallRecord } from '../src/record.js';
import { renderReport } from '../src/render/report.js';
import { ReportBuilder, UNTAGGED } from '../src/report.js';
import { errorTypeOf, metricAttributes, serverOf, serverOfSpec, spanAttributes, spanName } from '../src/telemetry/attributes.js';
import { otlpConfigOf } from '../src/telemetry/config.js';
import { outcomeOf, startPrometheus } from '../src/telemetry/prometheus.js';
import { ATTR, METRIC, OPERATION, PROVIDER, TOKEN_TYPE } from '../src/telemetry/semconv.js';
import { tagLabel, tagsOf } from '../src/telemetry/tags.js';
import { makeUsage } from '../src/usage.js';
import { MODEL_NAME_LENGTH_KEPT, MODELS_KEPT } from '../src/tally.js';

function record(over: Partial<CallRecord> = {}): CallRecord {
  return {
    provider: 'openai',
    api: 'chat',
    model: 'gpt-4o-mini-2024-07-18',
    requested_model: 'gpt-4o-mini',
    stream: false,
    ok: true,
    error: null,
    error_kind: null,
    status: null,
    text: 'the secret reply',
    usage: makeUsage({ input: 1520, cacheRead: 1000, cacheCreation: 500, output: 100, reasoning: 40 }),
    usage_source: 'reported',
    estimate: null,
    cost_usd: 0.003735,
    priced_as: 'openai/gpt-4o-mini',
    cost_note: null,
    request_id: 'req_1',
    duration_ms: 1234,
    ...over,
  };
}

const ctx = { command: 'run', runId: 'run-1', tags: { project: 'search', 'cost.center': 'r-and-d' } };

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no UsageError');
}

describe('the names we export are the GenAI semantic conventions', () => {
  it('match @opentelemetry/semantic-conventions where it defines them', () => {
    expect(METRIC.tokenUsage).toBe(incubating.METRIC_GEN_AI_CLIENT_TOKEN_USAGE);
    expect(METRIC.operationDuration).toBe(incubating.METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
    expect(ATTR.operationName).toBe(incubating.ATTR_GEN_AI_OPERATION_NAME);
    expect(ATTR.providerName).toBe(incubating.ATTR_GEN_AI_PROVIDER_NAME);
    expect(ATTR.requestModel).toBe(incubating.ATTR_GEN_AI_REQUEST_MODEL);
    expect(ATTR.responseModel).toBe(incubating.ATTR_GEN_AI_RESPONSE_MODEL);
    expect(ATTR.tokenType).toBe(incubating.ATTR_GEN_AI_TOKEN_TYPE);
    expect(ATTR.usageInputTokens).toBe(incubating.ATTR_GEN_AI_USAGE_INPUT_TOKENS);
    expect(ATTR.usageOutputTokens).toBe(incubating.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS);
    expect(ATTR.usageCacheReadInputTokens).toBe(incubating.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS);
    expect(ATTR.usageCacheCreationInputTokens).toBe(incubating.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS);
    expect(ATTR.usageReasoningOutputTokens).toBe(incubating.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS);
    expect(ATTR.serverAddress).toBe(incubating.ATTR_SERVER_ADDRESS);
    expect(ATTR.serverPort).toBe(incubating.ATTR_SERVER_PORT);
    expect(ATTR.errorType).toBe(incubating.ATTR_ERROR_TYPE);
    expect(TOKEN_TYPE.input).toBe(incubating.GEN_AI_TOKEN_TYPE_VALUE_INPUT);
    expect(TOKEN_TYPE.output).toBe(incubating.GEN_AI_TOKEN_TYPE_VALUE_OUTPUT);
    expect(OPERATION.chat).toBe(incubating.GEN_AI_OPERATION_NAME_VALUE_CHAT);
    expect(OPERATION.completions).toBe(incubating.GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION);
    expect(OPERATION.embeddings).toBe(incubating.GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS);
    expect(PROVIDER.openai).toBe(incubating.GEN_AI_PROVIDER_NAME_VALUE_OPENAI);
    expect(PROVIDER.anthropic).toBe(incubating.GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC);
    expect(PROVIDER.bedrock).toBe(incubating.GEN_AI_PROVIDER_NAME_VALUE_AWS_BEDROCK);
  });
});

describe('a record as attributes', () => {
  it('metric points carry the operation, provider, models, server, command and tags; never ids or text', () => {
    const a = metricAttributes(record(), ctx, { address: 'api.openai.com', port: 443 });
    expect(a).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'server.address': 'api.openai.com',
      'server.port': 443,
      'llm_usage.command': 'run',
      'llm_usage.tag.project': 'search',
      'llm_usage.tag.cost.center': 'r-and-d',
    });
  });

  it('the span adds the usage, cost, usage source and run id, under `{operation} {model}`', () => {
    const a = spanAttributes(record(), ctx, null);
    expect(a).toMatchObject({
      'gen_ai.usage.input_tokens': 1520,
      'gen_ai.usage.output_tokens': 100,
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.cache_creation.input_tokens': 500,
      'gen_ai.usage.reasoning.output_tokens': 40,
      'llm_usage.cost_usd': 0.003735,
      'llm_usage.usage_source': 'reported',
      'llm_usage.run_id': 'run-1',
    });
    expect(Object.values(a)).not.toContain('the secret reply');
    expect(JSON.stringify(a)).not.toMatch(/secret|req_1/);
    expect(spanName(record())).toBe('chat gpt-4o-mini');
    expect(spanName(record({ api: 'completions', requested_model: 'gpt-3.5-turbo-instruct' }))).toBe('text_completion gpt-3.5-turbo-instruct');
    expect(spanName(record({ api: 'embeddings', requested_model: 'text-embedding-3-small' }))).toBe('embeddings text-embedding-3-small');
  });

  it('an unpriced call has no cost attribute; a failure has error.type and no response model', () => {
    expect(spanAttributes(record({ cost_usd: null }), ctx, null)).not.toHaveProperty('llm_usage.cost_usd');
    const failed = record({ ok: false, status: 429, error_kind: 'http', error: 'openai gpt-4o-mini: 429' });
    expect(errorTypeOf(failed)).toBe('429');
    expect(metricAttributes(failed, ctx, null)).toMatchObject({ 'error.type': '429' });
    expect(metricAttributes(failed, ctx, null)).not.toHaveProperty('gen_ai.response.model');
    expect(errorTypeOf(record({ ok: false, error_kind: 'connection' }))).toBe('connection');
    expect(metricAttributes(record({ provider: 'bedrock', api: 'converse' }), ctx, null)).toMatchObject({ 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.operation.name': 'chat' });
  });

  it('where a call went: its base URL, else the provider\'s public endpoint', () => {
    expect(serverOf('http://127.0.0.1:8080/v1')).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(serverOf('http://[::1]/v1')).toEqual({ address: '::1', port: 80 });
    expect(serverOfSpec({ provider: 'anthropic' })).toEqual({ address: 'api.anthropic.com', port: 443 });
    expect(serverOfSpec({ provider: 'openai' })).toEqual({ address: 'api.openai.com', port: 443 });
    expect(serverOfSpec({ provider: 'bedrock', aws: { region: 'eu-west-1' } as never })).toEqual({ address: 'bedrock-runtime.eu-west-1.amazonaws.com', port: 443 });
  });
});

describe('tags: --tag KEY=VALUE and LLM_USAGE_TAGS', () => {
  it('merges the variable and the flags, the flags winning', () => {
    expect(tagsOf(undefined, {})).toEqual({});
    expect(tagsOf(['project=search', 'customer=acme corp'], { LLM_USAGE_TAGS: 'team=ml, project=old' })).toEqual({ team: 'ml', project: 'search', customer: 'acme corp' });
    expect(tagsOf(['url=https://x.example/?a=b'], {})).toEqual({ url: 'https://x.example/?a=b' });
  });

  it('refuses what is not a tag, saying why in one line', () => {
    expect(usageError(() => tagsOf(['project'], {}))).toBe('--tag "project": expected KEY=VALUE, such as project=search');
    expect(usageError(() => tagsOf(['=x'], {}))).toMatch(/expected KEY=VALUE/);
    expect(usageError(() => tagsOf(['project='], {}))).toBe('--tag project= has no value: give KEY=VALUE');
    expect(usageError(() => tagsOf(['9lives=x'], {}))).toMatch(/"9lives" is not a tag key/);
    expect(usageError(() => tagsOf(['a b=x'], {}))).toMatch(/is not a tag key/);
    expect(usageError(() => tagsOf(['p=a', 'p=b'], {}))).toBe('--tag p is given twice: give each key once');
    expect(usageError(() => tagsOf(['p=a\nb'], {}))).toMatch(/control character/);
    expect(usageError(() => tagsOf([`p=${'x'.repeat(300)}`], {}))).toMatch(/at most 256/);
    expect(usageError(() => tagsOf([], { LLM_USAGE_TAGS: 'a=1,,b=2' }))).toMatch(/^LLM_USAGE_TAGS .* has an empty tag/);
    expect(usageError(() => tagsOf([], { LLM_USAGE_TAGS: 'nonsense' }))).toMatch(/^LLM_USAGE_TAGS: "nonsense": expected KEY=VALUE/);
    for (const m of [usageError(() => tagsOf(['p=a\nb'], {}))]) expect(m).not.toContain('\n');
  });

  it('become Prometheus labels tag_KEY', () => {
    expect(tagLabel('cost.center')).toBe('tag_cost_center');
    expect(tagLabel('team-a')).toBe('tag_team_a');
  });

  it('are recorded in the ledger, and report --by tag:KEY groups by them', () => {
    const b = new ReportBuilder({ by: 'tag:project' });
    const e = (tags: Record<string, string> | undefined, cost: number) => entryOf(record({ cost_usd: cost }), { command: 'run', runId: 'r', tags });
    expect(e({ project: 'search' }, 1).tags).toEqual({ project: 'search' });
    // The line written for a call without tags names none.
    expect(JSON.parse(JSON.stringify(e({}, 1)))).not.toHaveProperty('tags');
    b.add(e({ project: 'search' }, 1));
    b.add(e({ project: 'search', team: 'ml' }, 2));
    b.add(e({ project: 'ads' }, 0.5));
    b.add(e(undefined, 0.25));
    const { rows, total } = b.result();
    expect(rows.map((r) => [r.key, r.requests, r.cost_usd])).toEqual([
      ['search', 2, 3],
      ['ads', 1, 0.5],
      [UNTAGGED, 1, 0.25],
    ]);
    expect(total.cost_usd).toBe(3.75);
    expect(renderReport(rows, total, 'tag:project', false, false).split('\n')[1]).toMatch(/│ Tag project /);
  });
});

describe('OpenTelemetry is configured by the standard OTEL_* variables only', () => {
  it('is off unless an OTLP endpoint is set, and off with OTEL_SDK_DISABLED=true', () => {
    expect(otlpConfigOf({})).toBeNull();
    expect(otlpConfigOf({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeNull();
    expect(otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBeNull();
    expect(otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
  });

  it('sends each signal where its variables say, http/protobuf by default', () => {
    expect(otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' })).toEqual({
      metrics: { protocol: 'http/protobuf', display: 'http://127.0.0.1:4318/v1/metrics' },
      traces: { protocol: 'http/protobuf', display: 'http://127.0.0.1:4318/v1/traces' },
      temporality: 'delta',
      exportIntervalMs: 60_000,
    });
    const c = otlpConfigOf({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://user:pass@otel.example/m?key=1',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Cumulative',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    expect(c).toEqual({ metrics: { protocol: 'http/json', display: 'https://otel.example/m' }, traces: null, temporality: 'cumulative', timeoutMs: 500, exportIntervalMs: 60_000 });
    expect(otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318', OTEL_TRACES_EXPORTER: 'none' })?.traces).toBeNull();
  });

  it('refuses a malformed variable in one line, never showing a header value', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(usageError(() => otlpConfigOf({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }))).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL=grpc: llm-usage exports OTLP over HTTP only/);
    expect(usageError(() => otlpConfigOf({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }))).toMatch(/is not an OTLP protocol/);
    expect(usageError(() => otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }))).toMatch(/OTLP over HTTP needs an http/);
    expect(usageError(() => otlpConfigOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }))).toMatch(/is not a URL/);
    expect(usageError(() => otlpConfigOf({ ...on, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' }))).toMatch(/expected delta, cumulative or lowmemory/);
    expect(usageError(() => otlpConfigOf({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }))).toMatch(/expected milliseconds/);
    const m = usageError(() => otlpConfigOf({ ...on, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=SECRET123,SECRET456' }));
    expect(m).toBe('OTEL_EXPORTER_OTLP_HEADERS: pair 2 is not key=value (values are not shown: they may be keys)');
  });
});

describe('Prometheus /metrics (prom-client)', () => {
  it('counts tokens, cost, unpriced calls and outcomes, with tags as labels only when asked', async () => {
    const served = async (m: ReturnType<typeof startPrometheus>) => {
      let body = '';
      const res = { writeHead: () => res, end: (t: string) => void (body = t) };
      m.serve({ method: 'GET' } as never, res as never);
      await new Promise((r) => setTimeout(r, 10));
      return body;
    };
    const plain = startPrometheus({ tags: { project: 'search' }, tagLabels: false });
    plain.record(record());
    plain.record(record({ cost_usd: null, model: 'mystery' }));
    plain.record(record({ ok: false, error_kind: 'http', status: 500 }));
    const text = await served(plain);
    expect(text).toContain('llm_usage_tokens_total{provider="openai",model="gpt-4o-mini-2024-07-18",type="input"} 3040');
    expect(text).toContain('llm_usage_token_details_total{provider="openai",model="gpt-4o-mini-2024-07-18",type="cache_read"} 2000');
    expect(text).toContain('llm_usage_cost_usd_total{provider="openai",model="gpt-4o-mini-2024-07-18"} 0.00747');
    expect(text).toContain('llm_usage_unpriced_requests_total{provider="openai",model="mystery"} 1');
    expect(text).toContain('llm_usage_requests_total{provider="openai",model="gpt-4o-mini-2024-07-18",outcome="http"} 1');
    expect(text).toContain('llm_usage_request_duration_seconds_count{provider="openai",model="mystery"} 1');
    expect(text).not.toContain('tag_project');
    // Totals are read when scraped: a second scrape counts nothing twice, and calls since are in
    // the next; a model never priced has no cost series, one never unpriced no unpriced series.
    expect(text).not.toContain('llm_usage_cost_usd_total{provider="openai",model="mystery"}');
    expect(text).not.toContain('llm_usage_unpriced_requests_total{provider="openai",model="gpt-4o-mini-2024-07-18"}');
    expect(await served(plain)).toBe(text);
    plain.record(record());
    const after = await served(plain);
    expect(after).toContain('llm_usage_tokens_total{provider="openai",model="gpt-4o-mini-2024-07-18",type="input"} 4560');
    expect(after).toContain('llm_usage_requests_total{provider="openai",model="gpt-4o-mini-2024-07-18",outcome="ok"} 2');
    const tagged = startPrometheus({ tags: { project: 'search' }, tagLabels: true });
    tagged.record(record());
    expect(await served(tagged)).toContain('llm_usage_requests_total{provider="openai",model="gpt-4o-mini-2024-07-18",tag_project="search",outcome="ok"} 1');
    expect(outcomeOf(record({ ok: false, error: 'openai gpt-4o-mini: refused by llm-usage: budget exceeded; not sent', error_kind: 'http' }))).toBe('refused');
  });

  it('keeps MODELS_KEPT model names apart; a provider\'s calls past them are one series marked otel_metric_overflow', async () => {
    const m = startPrometheus({ tags: { project: 'search' }, tagLabels: true });
    for (let i = 0; i < MODELS_KEPT; i++) m.record(record({ model: `model-${i}` }));
    m.record(record({ model: 'one-too-many' }));
    m.record(record({ model: 'x'.repeat(MODEL_NAME_LENGTH_KEPT + 1), ok: false, error_kind: 'http', status: 404 }));
    m.record(record({ model: 'model-7' }));
    m.record(record({ provider: 'anthropic', model: 'claude-x' }));
    let body = '';
    const res = { writeHead: () => res, end: (t: string) => void (body = t) };
    m.serve({ method: 'GET' } as never, res as never);
    await new Promise((r) => setTimeout(r, 50));
    const models = new Set([...body.matchAll(/model="([^"]*)"/g)].map((x) => x[1]));
    expect(models.size).toBe(MODELS_KEPT); // anthropic's claude-x is past the limit too: it is one limit for all
    expect(body).not.toContain('one-too-many');
    expect(body).not.toContain('xxxxxxxx');
    expect(body).toContain('llm_usage_tokens_total{provider="openai",model="model-7",tag_project="search",type="input"} 3040');
    expect(body).toContain('llm_usage_tokens_total{provider="openai",tag_project="search",otel_metric_overflow="true",type="input"} 3040');
    expect(body).toContain('llm_usage_requests_total{provider="openai",tag_project="search",otel_metric_overflow="true",outcome="ok"} 1');
    expect(body).toContain('llm_usage_requests_total{provider="openai",tag_project="search",otel_metric_overflow="true",outcome="http"} 1');
    expect(body).toContain('llm_usage_requests_total{provider="anthropic",tag_project="search",otel_metric_overflow="true",outcome="ok"} 1');
  });
});

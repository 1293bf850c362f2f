/**
 * The OpenTelemetry SDK at work: a MeterProvider and a TracerProvider with the official OTLP
 * HTTP exporters (protobuf or JSON). Loaded only when OTEL_* says to export (index.ts), so no
 * other command pays for it. The exporters read the endpoints, headers, certificates and
 * compression from the OTEL_* variables themselves.
 */
import { SpanKind, SpanStatusCode, type Counter, type Histogram, type Tracer } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { CallRecord } from '../record.js';
import { metricAttributes, spanAttributes, spanName, type CallContext, type Server } from './attributes.js';
import type { OtlpConfig, SignalConfig } from './config.js';
import { ATTR, COST_BUCKETS, DURATION_BUCKETS, METRIC, SCHEMA_URL, TOKEN_BUCKETS, TOKEN_TYPE, UNIT } from './semconv.js';

export interface OtlpOptions {
  config: OtlpConfig;
  ctx: CallContext;
  version: string;
  /** True for the proxy: metrics go out every OTEL_METRIC_EXPORT_INTERVAL, not only at the end. */
  longRunning: boolean;
  /** Called once per failed export, with what failed and why (never a header or a body). */
  onExportFailure(what: string, why: string): void;
}

export interface OtlpExport {
  record(record: CallRecord, server: Server | null): void;
  /** Sends what is pending and stops; resolves within about `timeoutMs`, sent or not. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * How long one export may take (retries included). Shorter than the specification's 10 s
 * default: the exporter's pending requests and retry timers keep a process alive, so this is
 * what a dead or slow collector can add to a command's exit. A short-lived command never waits
 * longer; the proxy takes OTEL_EXPORTER_OTLP_TIMEOUT when it is set (its periodic exports may
 * go far), and then waits that long at its stop.
 */
const EXPORT_TIMEOUT_MS = 1500;

export async function startOtlp(o: OtlpOptions): Promise<OtlpExport> {
  const { config } = o;
  const timeoutMillis = o.longRunning ? config.timeoutMs ?? EXPORT_TIMEOUT_MS : Math.min(config.timeoutMs ?? EXPORT_TIMEOUT_MS, EXPORT_TIMEOUT_MS);
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'llm-usage', 'service.version': o.version }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over our defaults.
    .merge(detectResources({ detectors: [envDetector] }));

  let meterProvider: MeterProvider | null = null;
  let instruments: { tokens: Histogram; duration: Histogram; cost: Histogram; unpriced: Counter } | null = null;
  if (config.metrics) {
    const exporter = observed(await metricExporter(config.metrics, config.temporality, timeoutMillis), `metrics to ${config.metrics.display}`, o.onExportFailure);
    const reader = new PeriodicExportingMetricReader({
      exporter,
      // A short-lived command exports once, when it closes.
      exportIntervalMillis: o.longRunning ? config.exportIntervalMs : 24 * 3600_000,
      exportTimeoutMillis: Math.min(timeoutMillis + 500, o.longRunning ? config.exportIntervalMs : 24 * 3600_000),
    });
    meterProvider = new MeterProvider({ resource, readers: [reader] });
    const meter = meterProvider.getMeter('llm-usage', o.version, { schemaUrl: SCHEMA_URL });
    instruments = {
      tokens: meter.createHistogram(METRIC.tokenUsage, { unit: UNIT.tokens, description: 'Number of input and output tokens used', advice: { explicitBucketBoundaries: TOKEN_BUCKETS } }),
      duration: meter.createHistogram(METRIC.operationDuration, { unit: UNIT.seconds, description: 'GenAI operation duration', advice: { explicitBucketBoundaries: DURATION_BUCKETS } }),
      cost: meter.createHistogram(METRIC.operationCost, { unit: UNIT.usd, description: 'Cost of the GenAI operation at the price table llm-usage used', advice: { explicitBucketBoundaries: COST_BUCKETS } }),
      unpriced: meter.createCounter(METRIC.unpricedCalls, { unit: UNIT.calls, description: 'Calls that have no known price, so no cost point' }),
    };
  }

  let tracerProvider: TracerProvider | null = null;
  let tracer: Tracer | null = null;
  if (config.traces) {
    const exporter = observed(await spanExporter(config.traces, timeoutMillis), `spans to ${config.traces.display}`, o.onExportFailure);
    tracerProvider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter, exportTimeoutMillis: timeoutMillis + 500 })] });
    tracer = tracerProvider.getTracer('llm-usage', o.version, { schemaUrl: SCHEMA_URL });
  }

  return {
    record(record, server) {
      const attrs = metricAttributes(record, o.ctx, server);
      if (instruments) {
        const u = record.usage;
        // A call that failed before the provider processed it used no tokens: no token points.
        if (record.usage_source !== 'none') {
          instruments.tokens.record(u.input_tokens, { ...attrs, [ATTR.tokenType]: TOKEN_TYPE.input });
          instruments.tokens.record(u.output_tokens, { ...attrs, [ATTR.tokenType]: TOKEN_TYPE.output });
        }
        instruments.duration.record(record.duration_ms / 1000, attrs);
        if (record.cost_usd === null) instruments.unpriced.add(1, attrs);
        else instruments.cost.record(record.cost_usd, { ...attrs, [ATTR.usageSource]: record.usage_source });
      }
      if (tracer) {
        const end = Date.now();
        const span = tracer.startSpan(spanName(record), { kind: SpanKind.CLIENT, startTime: end - record.duration_ms, attributes: spanAttributes(record, o.ctx, server) });
        if (!record.ok) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(end);
      }
    },
    async close(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      const shutdown = Promise.allSettled([meterProvider?.shutdown(), tracerProvider?.shutdown()]).then(() => undefined);
      await Promise.race([shutdown, deadline]);
      clearTimeout(timer);
    },
  };
}

async function metricExporter(signal: SignalConfig, temporality: OtlpConfig['temporality'], timeoutMillis: number): Promise<PushMetricExporter> {
  const { AggregationTemporalityPreference } = await import('@opentelemetry/exporter-metrics-otlp-http');
  const temporalityPreference = { delta: AggregationTemporalityPreference.DELTA, cumulative: AggregationTemporalityPreference.CUMULATIVE, lowmemory: AggregationTemporalityPreference.LOWMEMORY }[temporality];
  const options = { timeoutMillis, temporalityPreference };
  if (signal.protocol === 'http/json') {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    return new OTLPMetricExporter(options);
  }
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
  return new OTLPMetricExporter(options);
}

async function spanExporter(signal: SignalConfig, timeoutMillis: number): Promise<SpanExporter> {
  if (signal.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ timeoutMillis });
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ timeoutMillis });
}

/** The exporter, reporting each failed export to `onFailure` (the SDK itself says nothing). */
function observed<T extends object>(exporter: T, what: string, onFailure: (what: string, why: string) => void): T {
  type Export = (items: unknown, cb: (r: ExportResult) => void) => void;
  const target = exporter as unknown as { export: Export };
  const original = target.export.bind(exporter);
  target.export = (items, cb) =>
    original(items, (result) => {
      if (result.code !== 0) onFailure(what, reasonOf(result.error));
      cb(result);
    });
  return exporter;
}

/** Why an export failed, in a few words: a status code or a system error code, never a body. */
function reasonOf(error: Error | undefined): string {
  if (!error) return 'failed';
  const e = error as Error & { code?: number | string; cause?: { code?: string } };
  if (typeof e.code === 'number') return `HTTP ${e.code}`;
  if (typeof e.code === 'string') return e.code;
  if (e.cause?.code) return e.cause.code;
  if (/timed out|timeout/i.test(e.message)) return 'timed out';
  return e.name === 'Error' ? 'failed' : e.name;
}


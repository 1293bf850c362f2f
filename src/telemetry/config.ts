/**
 * Whether OpenTelemetry export is on, from the standard OTEL_* variables only, and what it
 * sends. Pure and cheap: the SDK is imported only when this says yes (see index.ts).
 * The exporters themselves read the endpoints, headers, certificates and timeout from the same
 * variables; this module only decides, and refuses what is malformed before anything is sent.
 */
import { UsageError } from '../errors.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface SignalConfig {
  protocol: OtlpProtocol;
  /** The URL the exporter posts to, for messages (no credentials, no query). */
  display: string;
}

export interface OtlpConfig {
  metrics: SignalConfig | null;
  traces: SignalConfig | null;
  /** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, default delta (see README). */
  temporality: 'delta' | 'cumulative' | 'lowmemory';
  /** OTEL_EXPORTER_OTLP_TIMEOUT (ms), when set. */
  timeoutMs?: number;
  /** OTEL_METRIC_EXPORT_INTERVAL (ms), for the long-running proxy. */
  exportIntervalMs: number;
}

const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function protocolOf(env: NodeJS.ProcessEnv, signal: 'METRICS' | 'TRACES'): OtlpProtocol {
  for (const name of [`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const v = value(env, name);
    if (v === undefined) continue;
    if (PROTOCOLS.includes(v)) return v as OtlpProtocol;
    if (v === 'grpc') throw new UsageError(`${name}=grpc: llm-usage exports OTLP over HTTP only: set http/protobuf or http/json (a collector's port 4318)`);
    throw new UsageError(`${name}="${v}" is not an OTLP protocol: use http/protobuf or http/json`);
  }
  return 'http/protobuf';
}

function urlOf(env: NodeJS.ProcessEnv, name: string): URL {
  const v = value(env, name) as string;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(`${name} is not a URL: give one such as http://127.0.0.1:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${name}: OTLP over HTTP needs an http:// or https:// URL, not ${url.protocol}`);
  return url;
}

/** A URL as a message may show it: no user, password or query. */
function shown(url: URL, path: string): string {
  return `${url.protocol}//${url.host}${path}`;
}

/** One signal: on when its own endpoint or the shared one is set, unless OTEL_*_EXPORTER says otherwise. */
function signalOf(env: NodeJS.ProcessEnv, signal: 'METRICS' | 'TRACES', exporterVar: string): SignalConfig | null {
  const exporters = value(env, exporterVar);
  // Only the OTLP exporter is ours: "none" (or only others, such as console) turns the signal off.
  if (exporters !== undefined && !exporters.split(',').some((e) => e.trim() === 'otlp')) return null;
  const own = `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`;
  let display: string;
  if (value(env, own) !== undefined) {
    const url = urlOf(env, own);
    display = shown(url, url.pathname);
  } else if (value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined) {
    const url = urlOf(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    display = shown(url, `${url.pathname.replace(/\/+$/, '')}/v1/${signal.toLowerCase()}`);
  } else return null;
  return { protocol: protocolOf(env, signal), display };
}

function millis(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) === 0) throw new UsageError(`${name}="${v}": expected milliseconds, a whole number above 0`);
  return Number(v);
}

/**
 * The export configuration, or null when OpenTelemetry is off: no OTLP endpoint set, or
 * OTEL_SDK_DISABLED=true. A malformed variable is a UsageError (exit 2, nothing sent).
 */
export function otlpConfigOf(env: NodeJS.ProcessEnv): OtlpConfig | null {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  if (!value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') && !value(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') && !value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')) return null;
  const metrics = signalOf(env, 'METRICS', 'OTEL_METRICS_EXPORTER');
  const traces = signalOf(env, 'TRACES', 'OTEL_TRACES_EXPORTER');
  if (!metrics && !traces) return null;
  const t = value(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE')?.toLowerCase() ?? 'delta';
  if (t !== 'delta' && t !== 'cumulative' && t !== 'lowmemory') {
    throw new UsageError(`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="${t}": expected delta, cumulative or lowmemory`);
  }
  checkHeaders(env, 'OTEL_EXPORTER_OTLP_HEADERS');
  checkHeaders(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS');
  checkHeaders(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS');
  const timeoutMs = millis(env, 'OTEL_EXPORTER_OTLP_TIMEOUT');
  return { metrics, traces, temporality: t, ...(timeoutMs !== undefined ? { timeoutMs } : {}), exportIntervalMs: millis(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000 };
}

/**
 * Headers are `key=value` pairs separated by commas (W3C Baggage-like). A malformed pair is
 * refused by its position, never by its text: header values are credentials.
 */
function checkHeaders(env: NodeJS.ProcessEnv, name: string): void {
  const v = value(env, name);
  if (v === undefined) return;
  v.split(',').forEach((pair, i) => {
    const at = pair.indexOf('=');
    if (at <= 0 || pair.slice(0, at).trim() === '') throw new UsageError(`${name}: pair ${i + 1} is not key=value (values are not shown: they may be keys)`);
  });
}

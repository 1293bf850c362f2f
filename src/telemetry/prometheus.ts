/**
 * `proxy`'s GET /metrics in the Prometheus text exposition format, written by
 * prom-client (we never write a protocol by hand). Counters of tokens, cost and requests, and a
 * duration histogram, by provider and model; the --tag tags become labels only with
 * --metrics-tags (each label multiplies the series a Prometheus server keeps). Past MODELS_KEPT
 * model names, a provider's further calls are counted in one series without a model label,
 * marked otel_metric_overflow="true", as the OpenTelemetry SDK marks the OTLP export's.
 * Loaded only by `proxy` (not with --no-metrics).
 */
import type http from 'node:http';
import client from 'prom-client';
import { REFUSED } from '../proxy/provider-errors.js';
import type { ProxyStats } from '../proxy/server.js';
import type { CallRecord } from '../record.js';
import { KeptNames } from '../tally.js';
import { DURATION_BUCKETS, PROM } from './semconv.js';
import { tagLabel, type Tags } from './tags.js';

export interface PrometheusMetrics {
  record(record: CallRecord): void;
  /** Answers GET (and HEAD) /metrics; anything else there is 405. */
  serve(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Where the proxy's own counts come from, once it runs. */
  setStats(stats: () => ProxyStats): void;
}

/** A call's outcome as a label: ok, refused (by --max-cost), or the kind of failure. */
export function outcomeOf(record: CallRecord): string {
  if (record.ok) return 'ok';
  if (record.error?.includes(REFUSED)) return 'refused';
  return record.error_kind ?? 'error';
}

/** The label of a provider's series past MODELS_KEPT model names (the OpenTelemetry SDK's attribute otel.metric.overflow, as Prometheus names it). */
const OVERFLOW = 'otel_metric_overflow';

export function startPrometheus(opts: { tags: Tags; tagLabels: boolean }): PrometheusMetrics {
  const registry = new client.Registry();
  const constant: Record<string, string> = {};
  if (opts.tagLabels) for (const [k, v] of Object.entries(opts.tags)) constant[tagLabel(k)] = v;
  const extra = Object.keys(constant);
  const by = ['provider', 'model', ...extra, OVERFLOW];
  const registers = [registry];

  /**
   * Each provider and model's totals, kept as plain numbers: a call adds to them, and the
   * counters read them when scraped (collect), so recording a call costs a few additions, not
   * a prom-client label lookup for each counter (a proxy under load records thousands a second).
   */
  interface Series {
    labels: Record<string, string>;
    input: number;
    output: number;
    cacheRead: number;
    cacheCreation: number;
    reasoning: number;
    /** The priced calls' cost; null until one was priced (no series before then). */
    cost: number | null;
    unpriced: number;
    requests: Record<string, number>;
    duration: client.Histogram.Internal<string>;
  }
  const series = new Map<string, Series>();
  /** A counter whose values are the series' totals, read when scraped. */
  function collected(name: string, help: string, labelNames: string[], each: (s: Series, inc: (labels: Record<string, string>, n: number) => void) => void) {
    return new client.Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of series.values()) each(s, (labels, n) => this.inc(labels, n));
      },
    });
  }
  collected(PROM.tokens, 'Tokens of the calls metered, by type: input (every prompt token, cached included) and output (every completion token, reasoning included)', [...by, 'type'], (s, inc) => {
    inc({ ...s.labels, type: 'input' }, s.input);
    inc({ ...s.labels, type: 'output' }, s.output);
  });
  collected(PROM.tokenDetails, 'Parts of the tokens above: cache_read and cache_creation (of input), reasoning (of output)', [...by, 'type'], (s, inc) => {
    inc({ ...s.labels, type: 'cache_read' }, s.cacheRead);
    inc({ ...s.labels, type: 'cache_creation' }, s.cacheCreation);
    inc({ ...s.labels, type: 'reasoning' }, s.reasoning);
  });
  collected(PROM.cost, 'Cost in USD of the priced calls metered, at the price table llm-usage used', by, (s, inc) => {
    if (s.cost !== null) inc(s.labels, s.cost);
  });
  collected(PROM.unpriced, 'Calls metered that have no known price (their cost is not in llm_usage_cost_usd_total)', by, (s, inc) => {
    if (s.unpriced > 0) inc(s.labels, s.unpriced);
  });
  collected(PROM.requests, 'Calls metered, by outcome: ok, refused (--max-cost), or the kind of failure (http, connection, stream-cut, stream-error, aborted)', [...by, 'outcome'], (s, inc) => {
    for (const [outcome, n] of Object.entries(s.requests)) inc({ ...s.labels, outcome }, n);
  });
  const duration = new client.Histogram({ name: PROM.duration, help: 'Duration of the calls metered, in seconds', labelNames: by, buckets: DURATION_BUCKETS, registers });
  let stats: (() => ProxyStats) | null = null;
  new client.Counter({
    name: PROM.proxyRequests,
    help: 'Requests the proxy received, by what became of them: metered, unmetered (passed through), or refused (answered by the proxy, with the reason)',
    labelNames: ['kind', 'reason'],
    registers,
    collect() {
      if (!stats) return;
      const s = stats();
      this.reset();
      const refused = Object.values(s.refused).reduce((n, k) => n + (k ?? 0), 0);
      this.inc({ kind: 'metered', reason: '' }, s.requests - s.unmetered - refused);
      this.inc({ kind: 'unmetered', reason: '' }, s.unmetered);
      for (const [reason, n] of Object.entries(s.refused)) this.inc({ kind: 'refused', reason }, n ?? 0);
    },
  });

  const kept = new KeptNames();
  function seriesOf(provider: string, model: string): Series {
    let key = `${provider}\n${model}`;
    let s = series.get(key);
    if (!s && !kept.keeps(provider, model)) {
      key = `\n${provider}`; // never a kept key: those start with the provider's name
      s = series.get(key);
    }
    if (!s) {
      const labels: Record<string, string> = key.startsWith('\n') ? { provider, ...constant, [OVERFLOW]: 'true' } : { provider, model, ...constant };
      s = { labels, input: 0, output: 0, cacheRead: 0, cacheCreation: 0, reasoning: 0, cost: null, unpriced: 0, requests: {}, duration: duration.labels(labels) };
      series.set(key, s);
    }
    return s;
  }

  return {
    record(r) {
      const s = seriesOf(r.provider, r.model);
      const u = r.usage;
      s.input += u.input_tokens;
      s.output += u.output_tokens;
      s.cacheRead += u.input_token_details.cache_read;
      s.cacheCreation += u.input_token_details.cache_creation;
      s.reasoning += u.output_token_details.reasoning;
      if (r.cost_usd === null) s.unpriced++;
      else s.cost = (s.cost ?? 0) + r.cost_usd;
      const outcome = outcomeOf(r);
      s.requests[outcome] = (s.requests[outcome] ?? 0) + 1;
      s.duration.observe(r.duration_ms / 1000);
    },
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('llm-usage proxy: /metrics answers GET only\n');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500).end(),
      );
    },
    setStats(s) {
      stats = s;
    },
  };
}

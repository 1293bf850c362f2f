/**
 * `proxy`'s GET /metrics in the Prometheus text exposition format, written by
 * prom-client (we never write a protocol by hand). Counters of tokens, cost and requests, and a
 * duration histogram, by provider and model; the --tag tags become labels only with
 * --metrics-tags (each label multiplies the series a Prometheus server keeps).
 * Loaded only by `proxy` (not with --no-metrics).
 */
import type http from 'node:http';
import client from 'prom-client';
import { REFUSED } from '../proxy/provider-errors.js';
import type { ProxyStats } from '../proxy/server.js';
import type { CallRecord } from '../record.js';
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

export function startPrometheus(opts: { tags: Tags; tagLabels: boolean }): PrometheusMetrics {
  const registry = new client.Registry();
  const constant: Record<string, string> = {};
  if (opts.tagLabels) for (const [k, v] of Object.entries(opts.tags)) constant[tagLabel(k)] = v;
  const extra = Object.keys(constant);
  const by = ['provider', 'model', ...extra];
  const registers = [registry];

  const tokens = new client.Counter({ name: PROM.tokens, help: 'Tokens of the calls metered, by type: input (every prompt token, cached included) and output (every completion token, reasoning included)', labelNames: [...by, 'type'], registers });
  const details = new client.Counter({ name: PROM.tokenDetails, help: 'Parts of the tokens above: cache_read and cache_creation (of input), reasoning (of output)', labelNames: [...by, 'type'], registers });
  const cost = new client.Counter({ name: PROM.cost, help: 'Cost in USD of the priced calls metered, at the price table llm-usage used', labelNames: by, registers });
  const unpriced = new client.Counter({ name: PROM.unpriced, help: 'Calls metered that have no known price (their cost is not in llm_usage_cost_usd_total)', labelNames: by, registers });
  const requests = new client.Counter({ name: PROM.requests, help: 'Calls metered, by outcome: ok, refused (--max-cost), or the kind of failure (http, connection, stream-cut, stream-error, aborted)', labelNames: [...by, 'outcome'], registers });
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

  /**
   * The series of one provider and model, bound once (prom-client hashes a label set on every
   * call otherwise: a proxy under load records thousands of calls a second).
   */
  const series = new Map<string, ReturnType<typeof bind>>();
  function bind(provider: string, model: string) {
    const labels = { provider, model, ...constant };
    return {
      labels,
      input: tokens.labels({ ...labels, type: 'input' }),
      output: tokens.labels({ ...labels, type: 'output' }),
      cacheRead: details.labels({ ...labels, type: 'cache_read' }),
      cacheCreation: details.labels({ ...labels, type: 'cache_creation' }),
      reasoning: details.labels({ ...labels, type: 'reasoning' }),
      cost: cost.labels(labels),
      unpriced: unpriced.labels(labels),
      requests: {} as Record<string, { inc(): void }>,
      duration: duration.labels(labels),
    };
  }
  function seriesOf(provider: string, model: string) {
    const key = `${provider}\n${model}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = bind(provider, model)));
    return s;
  }

  return {
    record(r) {
      const s = seriesOf(r.provider, r.model);
      const u = r.usage;
      s.input.inc(u.input_tokens);
      s.output.inc(u.output_tokens);
      s.cacheRead.inc(u.input_token_details.cache_read);
      s.cacheCreation.inc(u.input_token_details.cache_creation);
      s.reasoning.inc(u.output_token_details.reasoning);
      if (r.cost_usd === null) s.unpriced.inc();
      else s.cost.inc(r.cost_usd);
      const outcome = outcomeOf(r);
      (s.requests[outcome] ??= requests.labels({ ...s.labels, outcome })).inc();
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

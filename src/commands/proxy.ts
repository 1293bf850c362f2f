import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { untilStopped } from '../proxy/process.js';
import { openSession, reportSession } from '../proxy/report.js';
import { bedrockDefault, displayUrl, loopingUpstream } from '../proxy/routes.js';
import { startProxy, type MeteringProxy } from '../proxy/server.js';
import type { CallRecord } from '../record.js';
import type { MeteringOptions } from './exec.js';
import { renderBaseUrls, renderCallLine, renderProxyBanner } from '../render/proxy.js';

export interface ProxyCommandOptions extends MeteringOptions {
  port: number;
  host?: string;
  quiet: boolean;
  /** Serve GET /metrics (Prometheus). */
  metrics?: boolean;
  /** With metrics: the tags as labels. */
  metricsTags?: boolean;
}

/**
 * `llm-usage proxy`: the metering proxy as a server, for clients that cannot be wrapped.
 * Base URLs on stdout, a line per call on stderr, the summary when stopped (Ctrl-C, SIGTERM).
 */
export async function proxyCommand(opts: ProxyCommandOptions, io: Io): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const session = openSession('proxy', opts, io);
  const { upstreams } = session.proxy;
  const loop = async (port: number) => {
    const name = await loopingUpstream(upstreams, host, port);
    if (!name) return null;
    const compat = upstreams.compat?.[name as keyof NonNullable<typeof upstreams.compat>];
    const url = compat ?? upstreams[name as Exclude<keyof typeof upstreams, 'compat'>];
    const setting = compat ? `--upstream ${name}=URL` : `--${name}-upstream`;
    return url ? new UsageError(`the ${name} upstream ${displayUrl(url)} is this proxy itself: set ${setting}, or pick another --port`) : null;
  };
  if (opts.port !== 0) {
    const looping = await loop(opts.port);
    if (looping) throw looping;
  }
  if (opts.metricsTags && !opts.metrics) throw new UsageError('--metrics-tags labels what /metrics serves: drop --no-metrics');
  const metrics = opts.metrics ? (await import('../telemetry/prometheus.js')).startPrometheus({ tags: session.tags, tagLabels: opts.metricsTags === true }) : null;
  let proxy: MeteringProxy;
  const onRecord = (r: CallRecord) => {
    session.record(r);
    metrics?.record(r);
    if (!opts.quiet) io.err(renderCallLine(r, session.calls.count, proxy.stats().spentUsd, io.colourErr));
  };
  try {
    proxy = await startProxy({ ...session.proxy, host, port: opts.port, onRecord, ...(metrics ? { metrics: metrics.serve } : {}) });
    metrics?.setStats(proxy.stats);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${opts.port} is in use on ${host}: pick another with --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${host}: not an address of this machine`);
    if (code === 'EACCES') throw new UsageError(`port ${opts.port} needs privileges: pick one above 1023 with --port`);
    throw e;
  }
  const looping = opts.port === 0 ? await loop(proxy.port) : null;
  if (looping) {
    await proxy.close(0);
    throw looping;
  }
  io.out(renderBaseUrls(proxy.origin));
  const loopbackOnly = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const { httpProxy, httpsProxy } = session.proxy.proxyEnv ?? {};
  io.err(
    renderProxyBanner(
      {
        origin: proxy.origin,
        openai: displayUrl(upstreams.openai),
        anthropic: displayUrl(upstreams.anthropic),
        azure: upstreams.azure ? displayUrl(upstreams.azure) : null,
        bedrock: upstreams.bedrock ? displayUrl(upstreams.bedrock) : bedrockDefault(io.env),
        google: displayUrl(upstreams.google),
        via: { http: httpProxy && displayUrl(httpProxy), https: httpsProxy && displayUrl(httpsProxy) },
        loopbackOnly,
        maxCostUsd: opts.maxCost,
        compat: Object.fromEntries(Object.entries(upstreams.compat ?? {}).map(([name, url]) => [name, displayUrl(url)])),
      },
      io.colourErr,
    ),
  );

  const signal = await untilStopped();
  proxy.stopping(`llm-usage proxy was stopped (${signal}) before the response ended`);
  // Calls under way get a moment to finish; the rest are recorded as cut.
  await proxy.close(2000);
  try {
    reportSession({ calls: session.calls, stats: proxy.stats(), maxCostUsd: opts.maxCost }, opts, io);
  } finally {
    await session.close();
  }
}

import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { loadPriceTable } from '../pricing/table.js';
import { untilStopped } from '../proxy/process.js';
import { checkReportPath, ledgerHook, reportSession, SessionCalls } from '../proxy/report.js';
import { displayUrl, loopingUpstream, tunnelsOf, upstreamsOf } from '../proxy/routes.js';
import { startProxy, type MeteringProxy } from '../proxy/server.js';
import type { CallRecord } from '../record.js';
import type { MeteringOptions } from './exec.js';
import { renderBaseUrls, renderCallLine, renderProxyBanner } from '../render/proxy.js';

export interface ProxyCommandOptions extends MeteringOptions {
  port: number;
  host?: string;
  quiet: boolean;
}

/**
 * `llm-usage proxy`: the metering proxy as a server, for clients that cannot be wrapped.
 * Base URLs on stdout, a line per call on stderr, the summary when stopped (Ctrl-C, SIGTERM).
 */
export async function proxyCommand(opts: ProxyCommandOptions, io: Io): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const upstreams = upstreamsOf({ openai: opts.openaiUpstream, anthropic: opts.anthropicUpstream }, io.env);
  const tunnels = tunnelsOf(upstreams, io.env);
  const loop = loopingUpstream(upstreams, host, opts.port);
  if (loop) throw new UsageError(`the ${loop} upstream ${displayUrl(upstreams[loop])} is this proxy itself: set --${loop}-upstream, or pick another --port`);
  if (opts.report) checkReportPath(opts.report);
  const table = loadPriceTable(opts.pricing ?? (io.env.LLM_USAGE_PRICING || undefined));

  const calls = new SessionCalls(opts.json || Boolean(opts.report));
  const record = ledgerHook('proxy', opts.ledger, io);
  let proxy: MeteringProxy;
  const onRecord = (r: CallRecord) => {
    calls.add(r);
    record(r);
    if (!opts.quiet) io.err(renderCallLine(r, calls.count, proxy.stats().spentUsd, io.colourErr));
  };
  try {
    proxy = await startProxy({ host, port: opts.port, upstreams, tunnels, table, maxCostUsd: opts.maxCost, onRecord });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${opts.port} is in use on ${host}: pick another with --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${host}: not an address of this machine`);
    if (code === 'EACCES') throw new UsageError(`port ${opts.port} needs privileges: pick one above 1023 with --port`);
    throw e;
  }
  io.out(renderBaseUrls(proxy.origin));
  const loopbackOnly = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const via = (url: URL | null) => (url ? ` (through ${displayUrl(url)})` : '');
  io.err(
    renderProxyBanner(
      { origin: proxy.origin, openai: displayUrl(upstreams.openai) + via(tunnels.openai), anthropic: displayUrl(upstreams.anthropic) + via(tunnels.anthropic), loopbackOnly, maxCostUsd: opts.maxCost },
      io.colourErr,
    ),
  );

  await untilStopped();
  // Calls under way get a moment to finish; the rest are recorded as cut.
  await proxy.close(2000);
  reportSession({ calls, stats: proxy.stats(), maxCostUsd: opts.maxCost }, opts, io);
}

import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { runChild } from '../proxy/process.js';
import { openSession, reportSession } from '../proxy/report.js';
import { clientEnv, clientProvidersOf } from '../proxy/routes.js';
import { startProxy } from '../proxy/server.js';

/** What exec and proxy share: how calls are metered, forwarded, limited and reported. */
export interface MeteringOptions {
  json: boolean;
  report?: string;
  maxCost?: number;
  openaiUpstream?: string;
  anthropicUpstream?: string;
  azureUpstream?: string;
  bedrockUpstream?: string;
  googleUpstream?: string;
  /** --upstream NAME=URL, repeatable: a compatible provider's upstream (proxy/compat.ts). */
  upstream?: string[];
  pricing?: string;
  /** --ledger FILE, or false for --no-ledger. */
  ledger?: string | false;
  /** --tag KEY=VALUE, each. */
  tags?: string[];
}

export interface ExecOptions extends MeteringOptions {
  /** --providers a,b: set only these providers' variables for CMD (default: all). */
  providers?: string;
}

/**
 * `llm-usage exec -- CMD [ARGS...]`: CMD runs with its clients' base URLs pointing at a metering
 * proxy on loopback; when it exits, the summary of every call it made, and CMD's exit code.
 */
export async function execCommand(command: string[], opts: ExecOptions, io: Io): Promise<void> {
  const [program, ...args] = command;
  if (!program) throw new UsageError('no command to run: llm-usage exec [options] -- CMD [ARGS...]');
  const providers = opts.providers === undefined ? undefined : clientProvidersOf(opts.providers);
  const session = openSession('exec', opts, io);
  const proxy = await startProxy({ ...session.proxy, host: '127.0.0.1', port: 0, onRecord: session.record });
  let exitCode: number;
  try {
    exitCode = await runChild(program, args, clientEnv(io.env, proxy.origin, providers), (signal) => proxy.stopping(`the program was stopped (llm-usage exec got ${signal}) before the response ended`));
  } finally {
    // CMD is gone, and its connections with it; a straggler (a detached grandchild) gets a moment.
    await proxy.close(1000);
  }
  try {
    reportSession({ calls: session.calls, stats: proxy.stats(), maxCostUsd: opts.maxCost }, opts, io);
  } finally {
    await session.close();
  }
  if (exitCode !== 0) throw new CliError('', exitCode);
}

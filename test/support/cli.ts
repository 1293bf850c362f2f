import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/llm-usage.js', import.meta.url));

/** A data directory that does not exist: the built-in price table, whatever the user downloaded. */
export const NO_DATA_DIR = join(tmpdir(), 'llm-usage-tests-no-data-dir');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would: NO_COLOR, a wide terminal, UTC, and none of the
 * caller's provider variables unless the test passes them.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(OPENAI|ANTHROPIC|AZURE|LLM_USAGE|OTEL)_/.test(k) && k !== 'FORCE_COLOR') env[k] = v;
  }
  // The ledger goes nowhere unless a test names one: tests never touch the user's data directory,
  // and no table the user downloaded (`pricing update`) changes what the tests price.
  Object.assign(env, { NO_COLOR: '1', COLUMNS: '200', TZ: 'UTC', LLM_USAGE_LEDGER: '/dev/null', XDG_DATA_HOME: NO_DATA_DIR });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** The figure and source of a summary row, e.g. summaryRow(r.stderr, 'Prompt Tokens') -> { value: '11', source: 'reported' }. */
export function summaryRow(summary: string, label: string): { value: string; source: string } | null {
  const line = summary.split('\n').find((l) => new RegExp(`^│\\s+${label.replace(/[()]/g, '\\$&')}\\s+│`).test(l));
  if (!line) return null;
  const cells = line.split('│').map((c) => c.trim());
  return { value: cells[2] as string, source: cells[3] as string };
}

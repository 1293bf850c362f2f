import { createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import envPaths from 'env-paths';
import type { CallRecord, Source } from './record.js';
import type { Usage } from './usage.js';

/** One line of the ledger: one call, without prompts, replies or keys unless --log-content. */
export interface LedgerEntry {
  time: string;
  command: string;
  run_id: string;
  provider: string;
  api: string;
  model: string;
  priced_as: string | null;
  usage: Usage;
  usage_source: Source;
  cost_usd: number | null;
  ok: boolean;
  error_kind: string | null;
  status: number | null;
  duration_ms: number;
  prompt?: string;
  text?: string;
}

export interface LedgerChoice {
  /** --ledger FILE, or false for --no-ledger. */
  ledger?: string | false;
}

/** The ledger file: --ledger, else LLM_USAGE_LEDGER, else the user's data directory; null when off. */
export function ledgerPath(choice: LedgerChoice, env: NodeJS.ProcessEnv): string | null {
  if (choice.ledger === false) return null;
  if (choice.ledger) return choice.ledger;
  if (env.LLM_USAGE_LEDGER) return env.LLM_USAGE_LEDGER;
  return join(envPaths('llm-usage', { suffix: '' }).data, 'ledger.jsonl');
}

export function entryOf(record: CallRecord, ctx: { command: string; runId: string; time?: Date; prompt?: string; logContent?: boolean }): LedgerEntry {
  const entry: LedgerEntry = {
    time: (ctx.time ?? new Date()).toISOString(),
    command: ctx.command,
    run_id: ctx.runId,
    provider: record.provider,
    api: record.api,
    model: record.model,
    priced_as: record.priced_as,
    usage: record.usage,
    usage_source: record.usage_source,
    cost_usd: record.cost_usd,
    ok: record.ok,
    error_kind: record.error_kind,
    status: record.status,
    duration_ms: record.duration_ms,
  };
  if (ctx.logContent) {
    if (ctx.prompt !== undefined) entry.prompt = ctx.prompt;
    entry.text = record.text;
  }
  return entry;
}

/**
 * Appends entries as JSON lines. Each line (or, with appendSoon, each turn's lines) is one
 * write(2) to a file opened once with O_APPEND, so several processes appending at once neither
 * lose nor interleave lines, and a long-running proxy pays no open per call. A ledger that cannot be written is a warning,
 * never a reason to lose the command's own output.
 */
export class LedgerWriter {
  private warned = false;
  private fd: number | null = null;
  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  append(entry: LedgerEntry): void {
    this.write(JSON.stringify(entry) + '\n');
  }

  private pending: string[] = [];

  /**
   * Appends at the end of this turn of the event loop, together with the other lines of the
   * turn: one write(2) for all of them (still whole lines, so still never interleaved). For a
   * proxy under load, where a write per call is a system call per call. What is pending when
   * the process exits is written then.
   */
  appendSoon(entry: LedgerEntry): void {
    this.pending.push(JSON.stringify(entry) + '\n');
    if (this.pending.length > 1) return;
    if (!this.exitHook) {
      this.exitHook = true;
      process.once('exit', this.flush);
    }
    setImmediate(this.flush);
  }

  private exitHook = false;

  /** Writes what appendSoon holds. */
  readonly flush = (): void => {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.write(text);
  };

  private write(text: string): void {
    try {
      this.fd ??= this.open();
      writeSync(this.fd, text);
    } catch (e) {
      if (!this.warned) this.warn(`cannot write the ledger ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (use --ledger FILE or --no-ledger)`);
      this.warned = true;
    }
  }

  private open(): number {
    try {
      return openSync(this.path, 'a');
    } catch (e) {
      // Create the directory only when missing.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dirname(this.path), { recursive: true });
      return openSync(this.path, 'a');
    }
  }
}

/**
 * Streams a ledger's entries to `onEntry` without holding the file in memory (a callback, not
 * an async generator: a million lines should not cost a million promises). Lines that do not
 * parse (a torn last line from a crash mid-write) are skipped and reported through `onSkip`,
 * never fatal.
 */
export async function scanLedger(
  path: string,
  onEntry: (entry: LedgerEntry) => void,
  onSkip: (lineNumber: number, torn: boolean) => void,
): Promise<void> {
  let rest = '';
  let lineNumber = 0;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    let end = text.indexOf('\n');
    while (end !== -1) {
      lineNumber++;
      if (end > start) {
        const entry = parseLine(text.slice(start, end));
        if (entry) onEntry(entry);
        else onSkip(lineNumber, false);
      }
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  if (rest.trim()) {
    const entry = parseLine(rest);
    if (entry) onEntry(entry);
    else onSkip(lineNumber + 1, true);
  }
}

function parseLine(line: string): LedgerEntry | null {
  try {
    const entry = JSON.parse(line) as LedgerEntry;
    return isEntry(entry) ? entry : null;
  } catch {
    return null;
  }
}

/** A line that report can add up: anything else (hand-edited, another tool's) is skipped, not a crash. */
function isEntry(e: LedgerEntry | null): boolean {
  if (!e || typeof e !== 'object') return false;
  const u = e.usage as Partial<Usage> | null;
  const count = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  return (
    typeof e.time === 'string' &&
    typeof e.model === 'string' &&
    typeof e.provider === 'string' &&
    typeof e.command === 'string' &&
    (e.priced_as === null || e.priced_as === undefined || typeof e.priced_as === 'string') &&
    (e.cost_usd === null || count(e.cost_usd)) &&
    typeof u === 'object' && u !== null &&
    count(u.input_tokens) && count(u.output_tokens) && count(u.total_tokens)
  );
}

import { UsageError } from '../errors.js';
import { readStdinIfPiped, type Io } from '../io.js';
import type { CallOptions } from '../plan.js';
import { executePlan, type SessionOptions } from '../session.js';

export type RunOptions = Omit<CallOptions, 'stream'> & SessionOptions & { repeat: number };

/** `llm-usage run [prompts...]`: one call per prompt, in order, each --repeat times; then the summary. */
export async function runCommand(prompts: string[], opts: RunOptions, io: Io): Promise<void> {
  let list = prompts;
  if (list.length === 0) {
    const piped = (await readStdinIfPiped())?.replace(/\n$/, '');
    if (!piped) throw new UsageError('no prompt: give one as an argument, or pipe it on stdin');
    list = [piped];
  }
  await executePlan('run', repeat(list, opts.repeat), { ...opts, stream: false }, io);
}

export function repeat<T>(items: T[], times: number): T[] {
  return Array.from({ length: times }, () => items).flat();
}

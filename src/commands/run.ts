import { UsageError } from '../errors.js';
import { readStdinIfPiped, type Io } from '../io.js';
import { MAX_CALLS, type CallOptions } from '../plan.js';
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
  checkPrompts(list, opts.repeat);
  await executePlan('run', repeat(list, opts.repeat), { ...opts, stream: false }, io);
}

/** A blank prompt is refused wherever it comes from, and so is a plan of more calls than MAX_CALLS. */
export function checkPrompts(prompts: string[], times: number): void {
  const blank = prompts.findIndex((p) => p.trim() === '');
  if (blank >= 0) {
    const which = prompts.length === 1 ? 'the prompt' : `prompt ${blank + 1} of ${prompts.length}`;
    throw new UsageError(`${which} is empty: give the text to send`);
  }
  if (prompts.length * times > MAX_CALLS) {
    throw new UsageError(`${prompts.length} prompts x --repeat ${times} is ${prompts.length * times} calls; at most ${MAX_CALLS} per command: split them up`);
  }
}

export function repeat<T>(items: T[], times: number): T[] {
  return Array.from({ length: times }, () => items).flat();
}

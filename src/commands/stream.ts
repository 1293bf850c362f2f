import { readStdinIfPiped, type Io } from '../io.js';
import type { CallOptions } from '../plan.js';
import { executePlan, type SessionOptions } from '../session.js';
import { checkPrompts, repeat } from './run.js';

export type StreamOptions = Omit<CallOptions, 'stream'> & SessionOptions & { repeat: number };

// The seeds' prompt: `llm-usage stream --usage` works as written.
const DEFAULT_PROMPT = 'Tell me a joke';

/** `llm-usage stream [prompt]`: the reply streams to stdout as it arrives; then the summary. */
export async function streamCommand(prompt: string | undefined, opts: StreamOptions, io: Io): Promise<void> {
  const piped = prompt === undefined ? (await readStdinIfPiped())?.replace(/\n$/, '') : undefined;
  const text = prompt ?? (piped?.trim() ? piped : DEFAULT_PROMPT);
  checkPrompts([text], opts.repeat);
  await executePlan('stream', repeat([text], opts.repeat), { ...opts, stream: true }, io);
}

/** OpenAI chat completions on the wire: `data: {chunk}` streams ending in `data: [DONE]`, and JSON bodies. */
import { openAIChatUsage, openAIChunkUsage, usageExtrasOf } from '../normalise.js';
import type { CallOutcome } from '../providers/types.js';
import { arrayOf, chatMessage, classify, Deferred, DONE, ERROR_KEY, errorFailure, Gathered, IS_DONE, object, parseBytes, USAGE_OBJECT, whole, type BodyEnd, type Json, type StreamMeter, type WireFormat } from './read.js';

/** OpenAI chat completions and legacy completions streams (`data: {chunk}` … `data: [DONE]`). */
export class OpenAIStreamMeter implements StreamMeter {
  private readonly got = new Gathered();
  /** The choices seen, and those finished: made only when chunks are read whole (most streams never are). */
  private opened: Set<number> | null = null;
  private finished: Set<number> | null = null;
  private done = false;
  /** Every chunk since the last drain, in order, usage chunks included (see raw). */
  private readonly pending = new Deferred();

  constructor(private readonly api: 'chat' | 'completions') {}

  raw(_event: string, data: Buffer, parsed?: unknown, flags = classify(data)): void {
    if (flags & IS_DONE || parsed === DONE) {
      this.done = true;
      return;
    }
    // A chunk with usage or an error is read now, for those only; its text and finish_reason
    // are read with all the others, in order, if they are ever needed (and for the model, if
    // no chunk read names one: see outcome).
    if (parsed !== undefined || flags & (USAGE_OBJECT | ERROR_KEY)) {
      const chunk = object(parsed ?? parseBytes(data));
      if (chunk?.['error'] !== undefined) this.got.failure = errorFailure(chunk, 'stream-error');
      else if (chunk) {
        this.got.setModel(chunk['model']);
        this.chunkUsage(chunk);
      }
    }
    if (this.pending.add(data)) this.drain();
  }

  /** A chunk's usage (OpenAI's `usage`, Groq's `x_groq.usage`) replaces the last seen. */
  private chunkUsage(chunk: Json): void {
    const usage = openAIChunkUsage(chunk);
    if (usage) this.got.usage = usage;
    this.got.extras = usageExtrasOf(chunk['usage']) ?? this.got.extras;
  }

  private drain(): void {
    this.pending.drain((payload) => this.data(payload));
  }

  data(payload: unknown): void {
    if (payload === DONE) {
      this.done = true;
      return;
    }
    const chunk = object(payload);
    if (!chunk) return;
    if (chunk['error'] !== undefined) {
      this.got.failure = errorFailure(chunk, 'stream-error');
      return;
    }
    this.got.setModel(chunk['model']);
    this.chunkUsage(chunk);
    const choices = chunk['choices'];
    if (!Array.isArray(choices)) return;
    for (const c of choices) {
      const choice = object(c);
      if (!choice) continue;
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      (this.opened ??= new Set()).add(index);
      if (choice['finish_reason']) (this.finished ??= new Set()).add(index);
      if (this.api === 'completions') {
        this.got.add(index, choice['text']);
        continue;
      }
      const delta = object(choice['delta']);
      if (!delta) continue;
      this.got.add(index, delta['content']);
      this.got.add(index, delta['refusal']);
      const calls = delta['tool_calls'];
      if (Array.isArray(calls)) for (const call of calls) this.got.add(index, object(object(call)?.['function'])?.['arguments']);
    }
  }

  outcome(end: BodyEnd): CallOutcome {
    // The text is read only for an estimate (no usage), the finish reasons only without [DONE].
    if (this.pending.length && (!this.got.usage || !this.done)) this.drain();
    // The model, when the chunks read so far named none (OpenAI's usage chunk names it): from
    // the first chunk that does, as a meter fed every chunk would have it from the start.
    else if (this.got.model === null) {
      this.pending.find((payload) => {
        this.got.setModel(object(payload)?.['model']);
        return this.got.model !== null;
      });
    }
    // Some OpenAI-compatible servers omit [DONE]: a finish_reason on every choice is as good.
    const { opened, finished } = this;
    const allFinished = opened !== null && finished !== null && [...opened].every((i) => finished.has(i));
    return this.got.outcome(end, this.done || allFinished ? null : '[DONE]');
  }
}

/** The output bound of a chat or legacy completion request: max tokens times its choices. */
export function choicesTimes(max: number | null, json: Json, bestOf = false): number | null {
  const choices = Math.max(whole(json['n']) ?? 1, bestOf ? (whole(json['best_of']) ?? 1) : 1);
  return max === null ? null : max * choices;
}

export const openAIChatWire: WireFormat = {
  meter: () => new OpenAIStreamMeter('chat'),
  readBody(json, got) {
    got.usage = openAIChatUsage(json['usage'], json);
    got.extras = usageExtrasOf(json['usage']);
    for (const [i, c] of arrayOf(json['choices']).entries()) {
      const message = object(object(c)?.['message']);
      got.add(i, message?.['content']);
      for (const call of arrayOf(message?.['tool_calls'])) got.add(i, object(object(call)?.['function'])?.['arguments']);
    }
  },
  // Every message shape the chat formula counts: tool calls and tool results included.
  sentText: (json) => ({ messages: arrayOf(json['messages']).map(chatMessage) }),
  maxOutput: (json) => choicesTimes(whole(json['max_completion_tokens']) ?? whole(json['max_tokens']), json),
};

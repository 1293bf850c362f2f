/** OpenAI legacy completions on the wire: chat's stream framing, with each choice's `text`. */
import { openAIChatUsage, usageExtrasOf } from '../normalise.js';
import { arrayOf, object, whole, type WireFormat } from './read.js';
import { choicesTimes, OpenAIStreamMeter } from './openai-chat.js';

export const openAICompletionsWire: WireFormat = {
  meter: () => new OpenAIStreamMeter('completions'),
  readBody(json, got) {
    got.usage = openAIChatUsage(json['usage']);
    got.extras = usageExtrasOf(json['usage']);
    for (const [i, c] of arrayOf(json['choices']).entries()) got.add(i, object(c)?.['text']);
  },
  sentText(json) {
    const prompt = json['prompt'];
    return { texts: typeof prompt === 'string' ? [prompt] : arrayOf(prompt).filter((p): p is string => typeof p === 'string') };
  },
  // Legacy completions default to 16 tokens.
  maxOutput: (json) => choicesTimes(json['max_tokens'] === undefined ? 16 : whole(json['max_tokens']), json, true),
};

/** OpenAI embeddings: input tokens only, never streamed. */
export const openAIEmbeddingsWire: WireFormat = {
  // Never streams; an OpenAI-shaped reader is the closest guess.
  meter: () => new OpenAIStreamMeter('chat'),
  readBody(json, got) {
    got.usage = openAIChatUsage(json['usage']);
  },
  sentText(json) {
    const input = json['input'];
    return { texts: typeof input === 'string' ? [input] : arrayOf(input).filter((p): p is string => typeof p === 'string') };
  },
  maxOutput: () => 0,
};

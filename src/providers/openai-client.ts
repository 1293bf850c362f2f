import OpenAI from 'openai';
import { openAIChunkUsage, usageExtrasOf } from '../normalise.js';
import { azureOpenAIClient } from './azure-openai.js';
import type { CallEvents, CallOutcome, CallSpec, Provider } from './types.js';
import { attemptLoggingFetch, failureFrom, OutcomeBuilder, unfinishedStream, type SdkErrorClasses } from './transport.js';

/** One client per call: it carries this call's key, base URL, retries and attempt log. */
export function openAIClient(spec: CallSpec, events?: CallEvents): OpenAI {
  if (spec.azure) return azureOpenAIClient({ ...spec, azure: spec.azure }, events);
  const onLog = events?.onLog;
  return new OpenAI({
    apiKey: spec.apiKey,
    ...(spec.baseURL !== undefined && { baseURL: spec.baseURL }),
    ...(spec.maxRetries !== undefined && { maxRetries: spec.maxRetries }),
    // OpenAI names its request id header x-request-id.
    ...(onLog && { fetch: attemptLoggingFetch(onLog, 'x-request-id') }),
  });
}

export const openAIErrors: SdkErrorClasses = {
  APIError: OpenAI.APIError,
  APIConnectionError: OpenAI.APIConnectionError,
  APIUserAbortError: OpenAI.APIUserAbortError,
  BaseError: OpenAI.OpenAIError,
};

/** Reasoning models reject `max_tokens` and take `max_completion_tokens` instead. */
export function maxTokensParam(model: string, maxTokens: number | undefined): { max_tokens?: number; max_completion_tokens?: number } {
  if (maxTokens === undefined) return {};
  return /^(o1|o3|o4|gpt-5)/.test(model) ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens };
}

/**
 * Whether every choice the stream opened got its finish_reason: how a complete stream is
 * told from one cut short (the SDK hides the closing `[DONE]`). Choices are counted as
 * they appear, not from `n`, because some compatible servers ignore `n`.
 */
export function allChoicesFinished(seen: Set<number>, finished: Set<number>): boolean {
  if (seen.size === 0) return false;
  for (const index of seen) if (!finished.has(index)) return false;
  return true;
}

/** What chat and legacy completion stream chunks have in common. */
interface ChoiceChunk<C> {
  model?: string;
  choices?: C[];
  usage?: unknown;
}

/**
 * Reads a chat or legacy completion stream into `out`: text routed by choice index (with
 * n > 1 the choices interleave), usage from the last chunk with empty choices (a server that
 * repeats it per chunk sends running totals, so the latest replaces), and a failure when a
 * choice never finished (a stream cut short never sends its usage chunk).
 */
export async function readChoiceStream<C extends { index: number; finish_reason?: string | null }>(
  stream: AsyncIterable<ChoiceChunk<C>>,
  textOf: (choice: C) => string,
  spec: CallSpec,
  out: OutcomeBuilder,
): Promise<void> {
  const opened = new Set<number>();
  const finished = new Set<number>();
  for await (const chunk of stream) {
    if (out.model === null && chunk.model) out.model = chunk.model;
    for (const choice of chunk.choices ?? []) {
      opened.add(choice.index);
      out.append(choice.index, textOf(choice));
      if (choice.finish_reason) finished.add(choice.index);
    }
    const usage = openAIChunkUsage(chunk);
    if (usage) out.usage = usage;
    out.extras = usageExtrasOf(chunk.usage) ?? out.extras;
  }
  // An abort between the finish chunk and the usage chunk loses the usage too.
  if (!allChoicesFinished(opened, finished) || (spec.signal?.aborted && !out.usage)) {
    out.fail(unfinishedStream(spec.signal, 'every choice had its finish_reason'));
  }
}

/**
 * An OpenAI provider from its two ways of calling: the outcome collects what arrived, and any
 * failure is recorded on it rather than thrown, so usage already received is kept.
 */
export function openAIProvider(
  choices: (spec: CallSpec) => number,
  complete: (client: OpenAI, spec: CallSpec, out: OutcomeBuilder) => Promise<void>,
  stream: (client: OpenAI, spec: CallSpec, out: OutcomeBuilder) => Promise<void>,
): Provider {
  return {
    async call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
      const out = new OutcomeBuilder(choices(spec), events);
      const client = openAIClient(spec, events);
      try {
        await (spec.stream ? stream(client, spec, out) : complete(client, spec, out));
      } catch (err) {
        out.fail(failureFrom(err, { apiKey: spec.apiKey, signal: spec.signal, sdk: openAIErrors, requestId: out.requestId }));
      }
      return out.outcome();
    },
  };
}

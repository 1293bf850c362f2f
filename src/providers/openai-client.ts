import OpenAI from 'openai';
import type { CallEvents, CallSpec } from './types.js';
import { attemptLoggingFetch, type SdkErrorClasses } from './transport.js';

/** One client per call: it carries this call's key, base URL, retries and attempt log. */
export function openAIClient(spec: CallSpec, events?: CallEvents): OpenAI {
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

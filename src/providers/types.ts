import type { UsageExtras } from '../normalise.js';
import type { Usage } from '../usage.js';
import type { AwsAccess } from './bedrock.js';
import type { CompatName } from './compat.js';

export type ProviderName =
  | 'openai'
  | 'anthropic'
  // Azure OpenAI: OpenAI's wire formats, to a deployment (providers/azure.ts).
  | 'azure'
  // AWS Bedrock: Claude through InvokeModel (api 'messages'), every other model through Converse.
  | 'bedrock'
  // Google's Gemini API (AI Studio): generateContent (api 'gemini'), or its OpenAI-compatible chat.
  | 'google'
  // OpenAI-compatible providers (groq, deepseek, ...): OpenAI's wire formats at their own base URL (providers/compat.ts).
  | CompatName;

/**
 * The wire formats: OpenAI chat completions, legacy completions, Responses; Anthropic Messages
 * (also Claude on Bedrock's InvokeModel); Bedrock Converse; Gemini's generateContent.
 */
export type Api =
  | 'chat'
  | 'completions'
  | 'responses'
  | 'messages'
  | 'converse'
  | 'gemini';

export interface CallSpec {
  provider: ProviderName;
  api: Api;
  model: string;
  prompt: string;
  /** Ignored by legacy completions, which have no system role. */
  system?: string;
  maxTokens?: number;
  temperature?: number;
  /** Choices to generate (chat and legacy completions only). */
  n?: number;
  stream: boolean;
  /** OpenAI chat & legacy completions: send stream_options: {include_usage: true}. */
  streamUsage: boolean;
  apiKey: string;
  baseURL?: string;
  /** Azure OpenAI: the API version, and whether apiKey is an Entra ID token (sent as a bearer). */
  azure?: { apiVersion: string; adToken: boolean };
  /** Bedrock: the region and credentials (filled in by `readyToSend`, before anything is sent). */
  aws?: AwsAccess;
  /** SDK retries (429, 5xx, connection errors); default the SDK's (2). */
  maxRetries?: number;
  /** Ctrl-C: abort the request; the outcome keeps what arrived. */
  signal?: AbortSignal;
}

export interface CallEvents {
  /** Streamed text as it arrives (and the whole text once per choice for non-stream). */
  onText?(choice: number, delta: string): void;
  /** --verbose: one line per HTTP attempt: method, url path, status, request id, attempt number. */
  onLog?(line: string): void;
}

export type FailureKind = 'http' | 'connection' | 'stream-cut' | 'stream-error' | 'aborted';

export interface ProviderFailure {
  kind: FailureKind;
  /** HTTP status for 'http'. */
  status?: number;
  /** Provider error type, e.g. 'authentication_error', 'overloaded_error'. */
  type?: string;
  /** The provider's message, API key redacted. */
  message: string;
  requestId?: string;
}

export interface CallOutcome {
  /** Per choice, what arrived (complete or partial). */
  text: string[];
  /** Model as the provider reported it. */
  model: string | null;
  /** Normalised usage as REPORTED by the provider; null when it reported none (final). */
  usage: Usage | null;
  /**
   * Anthropic stream that broke after message_start: the reported input side (output as
   * last seen); the caller will re-estimate output.
   */
  partialUsage?: Usage;
  requestId?: string;
  /** What the usage said beyond tokens: the provider's own cost (OpenRouter's `usage.cost`), Perplexity's citations and searches. */
  extras?: UsageExtras;
  /** Set when the call failed; text/usage hold whatever arrived before the failure. */
  failure?: ProviderFailure;
}

export interface Provider {
  /** Never throws for a failed call: the failure is returned in the outcome so no usage is lost. */
  call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome>;
}

/**
 * The Anthropic API requires max_tokens; we send this when --max-tokens is not given. It is
 * here, not in anthropic-messages.ts, so the spending limit can use it without loading the SDK.
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

/** Anthropic Messages (`POST /v1/messages`), streaming and not. One choice. */
import Anthropic from '@anthropic-ai/sdk';
import { anthropicCumulativeUsage, anthropicUsage } from '../normalise.js';
import type { Usage } from '../usage.js';
import { attemptLoggingFetch, failureFrom, OutcomeBuilder, unfinishedStream, type SdkErrorClasses } from './transport.js';
import { ANTHROPIC_DEFAULT_MAX_TOKENS as DEFAULT_MAX_TOKENS, type CallEvents, type CallOutcome, type CallSpec, type Provider } from './types.js';

export const anthropicErrors: SdkErrorClasses = {
  APIError: Anthropic.APIError,
  APIConnectionError: Anthropic.APIConnectionError,
  APIUserAbortError: Anthropic.APIUserAbortError,
  BaseError: Anthropic.AnthropicError,
};

/** One client per call: it carries this call's key, base URL, retries and attempt log. */
function anthropicClient(spec: CallSpec, events?: CallEvents): Anthropic {
  const onLog = events?.onLog;
  return new Anthropic({
    apiKey: spec.apiKey,
    ...(spec.baseURL !== undefined && { baseURL: spec.baseURL }),
    ...(spec.maxRetries !== undefined && { maxRetries: spec.maxRetries }),
    // Anthropic names its request id header request-id.
    ...(onLog && { fetch: attemptLoggingFetch(onLog, 'request-id') }),
  });
}

/** The request of one call: Anthropic's API and Claude on Bedrock take the same. */
export function messageParams(spec: CallSpec): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: spec.model,
    max_tokens: spec.maxTokens ?? DEFAULT_MAX_TOKENS,
    ...(spec.system !== undefined && { system: spec.system }),
    messages: [{ role: 'user', content: spec.prompt }],
    ...(spec.temperature !== undefined && { temperature: spec.temperature }),
  };
}

async function completeMessage(client: Anthropic, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data, request_id } = await client.messages
    .create({ ...messageParams(spec), stream: false }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  out.model = data.model || null;
  for (const block of data.content ?? []) if (block.type === 'text') out.append(0, block.text);
  out.usage = anthropicUsage(data.usage);
}

async function streamMessage(client: Anthropic, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data: stream, request_id } = await client.messages
    .create({ ...messageParams(spec), stream: true }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  await readMessageStream(stream, spec, out, { model: (replied) => replied || out.model });
}

/** What a platform that serves Anthropic's stream (Bedrock) reads differently. */
export interface MessageStreamHooks {
  /** The model to record, from the one message_start names. */
  model(replied: string | undefined): string | null;
  /** The usage message_stop carries beside Anthropic's (Bedrock's invocation metrics), if any. */
  stopUsage?(event: Anthropic.MessageStopEvent): Usage | null;
}

/**
 * Reads Anthropic's message events into `out`: text, the model, and usage, which is cumulative
 * (message_delta replaces, never adds). message_start's input side is kept as partial usage in
 * case the stream breaks before message_delta brings the output count.
 */
export async function readMessageStream(stream: AsyncIterable<Anthropic.MessageStreamEvent>, spec: CallSpec, out: OutcomeBuilder, hooks: MessageStreamHooks): Promise<void> {
  let wireUsage: Record<string, unknown> | null = null;
  let finalUsage = false;
  let stopped = false;
  for await (const event of stream) {
    switch (event.type) {
      case 'message_start':
        out.model = hooks.model(event.message?.model);
        wireUsage = anthropicCumulativeUsage(null, event.message?.usage);
        out.partialUsage = anthropicUsage(wireUsage) ?? undefined;
        break;
      case 'content_block_delta':
        // The content block index is a block of the one message, not a choice.
        if (event.delta.type === 'text_delta') out.append(0, event.delta.text);
        break;
      case 'message_delta':
        if (event.usage) finalUsage = true;
        wireUsage = anthropicCumulativeUsage(wireUsage, event.usage);
        out.usage = anthropicUsage(wireUsage);
        out.partialUsage = undefined;
        break;
      case 'message_stop': {
        stopped = true;
        // A platform's own counts stand in when message_delta brought none.
        const usage = finalUsage ? null : (hooks.stopUsage?.(event) ?? null);
        if (usage) {
          out.usage = usage;
          out.partialUsage = undefined;
        }
        break;
      }
    }
  }
  if (!stopped) out.fail(unfinishedStream(spec.signal, 'message_stop'));
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(1, events);
  const client = anthropicClient(spec, events);
  try {
    await (spec.stream ? streamMessage(client, spec, out) : completeMessage(client, spec, out));
  } catch (err) {
    // An `event: error` (e.g. overloaded_error) makes the SDK throw mid-iteration: the text
    // and partial usage gathered so far stay in `out`.
    out.fail(failureFrom(err, { apiKey: spec.apiKey, signal: spec.signal, sdk: anthropicErrors, requestId: out.requestId }));
  }
  return out.outcome();
}

export const anthropicMessages: Provider = { call };

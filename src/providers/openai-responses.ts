/** OpenAI Responses API (`POST /responses`), streaming and not. It has no `n`: one choice. */
import type OpenAI from 'openai';
import { openAIResponsesUsage } from '../normalise.js';
import { openAIProvider } from './openai-client.js';
import { type OutcomeBuilder, safeMessage, unfinishedStream } from './transport.js';
import type { CallSpec, Provider, ProviderFailure } from './types.js';

type ResponseParams = OpenAI.Responses.ResponseCreateParamsNonStreaming;

function responseParams(spec: CallSpec): ResponseParams {
  return {
    model: spec.model,
    input: spec.prompt,
    ...(spec.system !== undefined && { instructions: spec.system }),
    ...(spec.maxTokens !== undefined && { max_output_tokens: spec.maxTokens }),
    ...(spec.temperature !== undefined && { temperature: spec.temperature }),
  };
}

/** The text of every output_text part of every message item, in order. */
function outputTextOf(response: OpenAI.Responses.Response): string {
  let text = '';
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue;
    for (const part of item.content ?? []) if (part.type === 'output_text') text += part.text;
  }
  return text;
}

async function completeResponse(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data, request_id } = await client.responses
    .create({ ...responseParams(spec), stream: false }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  out.model = data.model || null;
  out.append(0, outputTextOf(data));
  out.usage = openAIResponsesUsage(data.usage, data);
}

async function streamResponse(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data: stream, request_id } = await client.responses
    .create({ ...responseParams(spec), stream: true }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  let ended = false;
  for await (const event of stream) {
    switch (event.type) {
      case 'response.created':
        out.model = event.response?.model || out.model;
        break;
      case 'response.output_text.delta':
        out.append(0, event.delta);
        break;
      // Usage arrives only on the terminal event, for the whole response.
      case 'response.completed':
      case 'response.incomplete':
        ended = true;
        out.model = event.response?.model || out.model;
        out.usage = openAIResponsesUsage(event.response?.usage, event.response);
        break;
      case 'response.failed':
        ended = true;
        out.model = event.response?.model || out.model;
        out.usage = openAIResponsesUsage(event.response?.usage, event.response);
        out.fail(streamErrorOf(event.response?.error?.message, event.response?.error?.code, spec.apiKey));
        break;
      // The SDK yields an `error` event rather than throwing it.
      case 'error':
        out.fail(streamErrorOf(event.message, event.code, spec.apiKey));
        break;
    }
  }
  if (!ended && !out.failure) out.fail(unfinishedStream(spec.signal, 'response.completed'));
}

/** An error the provider reported inside a 200 stream. */
function streamErrorOf(message: string | undefined, code: string | null | undefined, apiKey: string): ProviderFailure {
  const failure: ProviderFailure = { kind: 'stream-error', message: safeMessage(message || 'the response failed', apiKey) };
  return code ? { ...failure, type: code } : failure;
}

export const openAIResponses: Provider = openAIProvider(() => 1, completeResponse, streamResponse);

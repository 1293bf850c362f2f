/** OpenAI chat completions (`POST /chat/completions`), streaming and not. */
import type OpenAI from 'openai';
import { openAIChatUsage } from '../normalise.js';
import { allChoicesFinished, maxTokensParam, openAIClient, openAIErrors } from './openai-client.js';
import { failureFrom, OutcomeBuilder, unfinishedStream } from './transport.js';
import type { CallEvents, CallOutcome, CallSpec, Provider } from './types.js';

type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

function chatParams(spec: CallSpec): ChatParams {
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  if (spec.system !== undefined) messages.push({ role: 'system', content: spec.system });
  messages.push({ role: 'user', content: spec.prompt });
  return {
    model: spec.model,
    messages,
    ...maxTokensParam(spec.model, spec.maxTokens),
    ...(spec.temperature !== undefined && { temperature: spec.temperature }),
    ...(spec.n !== undefined && { n: spec.n }),
  };
}

async function completeChat(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data, request_id } = await client.chat.completions
    .create({ ...chatParams(spec), stream: false }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  out.model = data.model || null;
  (data.choices ?? []).forEach((choice, position) => {
    out.append(choice.index ?? position, choice.message?.content ?? '');
  });
  out.usage = openAIChatUsage(data.usage);
}

async function streamChat(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data: stream, request_id } = await client.chat.completions
    .create(
      {
        ...chatParams(spec),
        stream: true,
        // Without this OpenAI sends no usage at all on a stream.
        ...(spec.streamUsage && { stream_options: { include_usage: true } }),
      },
      { signal: spec.signal },
    )
    .withResponse();
  out.requestId = request_id ?? undefined;
  const opened = new Set<number>();
  const finished = new Set<number>();
  for await (const chunk of stream) {
    if (out.model === null && chunk.model) out.model = chunk.model;
    // With n > 1 the choices interleave: route each delta by its own index.
    for (const choice of chunk.choices ?? []) {
      opened.add(choice.index);
      out.append(choice.index, choice.delta?.content ?? '');
      if (choice.finish_reason) finished.add(choice.index);
    }
    // Usage comes once, in a last chunk with empty choices, covering every choice; a
    // server that repeats it per chunk sends running totals, so the latest replaces.
    const usage = openAIChatUsage(chunk.usage);
    if (usage) out.usage = usage;
  }
  // A stream cut short never sends the usage chunk; an abort between the finish chunk and
  // the usage chunk loses it too.
  if (!allChoicesFinished(opened, finished) || (spec.signal?.aborted && !out.usage)) {
    out.fail(unfinishedStream(spec.signal, 'every choice had its finish_reason'));
  }
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(spec.n ?? 1, events);
  const client = openAIClient(spec, events);
  try {
    await (spec.stream ? streamChat(client, spec, out) : completeChat(client, spec, out));
  } catch (err) {
    out.fail(failureFrom(err, { apiKey: spec.apiKey, signal: spec.signal, sdk: openAIErrors, requestId: out.requestId }));
  }
  return out.outcome();
}

export const openAIChat: Provider = { call };

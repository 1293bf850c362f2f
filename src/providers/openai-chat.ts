/** OpenAI chat completions (`POST /chat/completions`), streaming and not. */
import type OpenAI from 'openai';
import { openAIChatUsage, usageExtrasOf } from '../normalise.js';
import { maxTokensParam, openAIProvider, readChoiceStream } from './openai-client.js';
import type { OutcomeBuilder } from './transport.js';
import type { CallSpec, Provider } from './types.js';

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
  out.usage = openAIChatUsage(data.usage, data);
  out.extras = usageExtrasOf(data.usage);
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
  await readChoiceStream(stream, (choice) => choice.delta?.content ?? '', spec, out);
}

export const openAIChat: Provider = openAIProvider((spec) => spec.n ?? 1, completeChat, streamChat);

/** OpenAI legacy completions (`POST /completions`), streaming and not. */
import type OpenAI from 'openai';
import { openAIChatUsage, usageExtrasOf } from '../normalise.js';
import { openAIProvider, readChoiceStream } from './openai-client.js';
import type { OutcomeBuilder } from './transport.js';
import type { CallSpec, Provider } from './types.js';

type CompletionParams = OpenAI.CompletionCreateParamsNonStreaming;

function completionParams(spec: CallSpec): CompletionParams {
  // Legacy completions have no system role, so spec.system is ignored here rather than
  // spliced into the prompt: the prompt is sent exactly as given, and counted as such.
  return {
    model: spec.model,
    prompt: spec.prompt,
    // Legacy completions default to 16 tokens; only send what was asked for.
    ...(spec.maxTokens !== undefined && { max_tokens: spec.maxTokens }),
    ...(spec.temperature !== undefined && { temperature: spec.temperature }),
    ...(spec.n !== undefined && { n: spec.n }),
  };
}

async function completeText(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data, request_id } = await client.completions
    .create({ ...completionParams(spec), stream: false }, { signal: spec.signal })
    .withResponse();
  out.requestId = request_id ?? undefined;
  out.model = data.model || null;
  (data.choices ?? []).forEach((choice, position) => {
    out.append(choice.index ?? position, choice.text ?? '');
  });
  out.usage = openAIChatUsage(data.usage);
  out.extras = usageExtrasOf(data.usage);
}

async function streamText(client: OpenAI, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data: stream, request_id } = await client.completions
    .create(
      {
        ...completionParams(spec),
        stream: true,
        // Without this OpenAI sends no usage at all on a stream.
        ...(spec.streamUsage && { stream_options: { include_usage: true } }),
      },
      { signal: spec.signal },
    )
    .withResponse();
  out.requestId = request_id ?? undefined;
  await readChoiceStream(stream, (choice) => choice.text ?? '', spec, out);
}

export const openAICompletions: Provider = openAIProvider((spec) => spec.n ?? 1, completeText, streamText);

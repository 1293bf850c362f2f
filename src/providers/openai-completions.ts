/** OpenAI legacy completions (`POST /completions`), streaming and not. */
import type OpenAI from 'openai';
import { openAIChatUsage } from '../normalise.js';
import { allChoicesFinished, openAIClient, openAIErrors } from './openai-client.js';
import { failureFrom, OutcomeBuilder, unfinishedStream } from './transport.js';
import type { CallEvents, CallOutcome, CallSpec, Provider } from './types.js';

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
  const opened = new Set<number>();
  const finished = new Set<number>();
  for await (const chunk of stream) {
    if (out.model === null && chunk.model) out.model = chunk.model;
    // With n > 1 the choices interleave: route each piece by its own index.
    for (const choice of chunk.choices ?? []) {
      opened.add(choice.index);
      out.append(choice.index, choice.text ?? '');
      if (choice.finish_reason) finished.add(choice.index);
    }
    // Usage comes once, in a last chunk with empty choices; the latest replaces.
    const usage = openAIChatUsage(chunk.usage);
    if (usage) out.usage = usage;
  }
  if (!allChoicesFinished(opened, finished) || (spec.signal?.aborted && !out.usage)) {
    out.fail(unfinishedStream(spec.signal, 'every choice had its finish_reason'));
  }
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(spec.n ?? 1, events);
  const client = openAIClient(spec, events);
  try {
    await (spec.stream ? streamText(client, spec, out) : completeText(client, spec, out));
  } catch (err) {
    out.fail(failureFrom(err, { apiKey: spec.apiKey, signal: spec.signal, sdk: openAIErrors, requestId: out.requestId }));
  }
  return out.outcome();
}

export const openAICompletions: Provider = { call };

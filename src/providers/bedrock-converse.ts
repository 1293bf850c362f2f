/**
 * Amazon Bedrock Converse and ConverseStream, for every model that is not Claude through
 * InvokeModel, with the AWS SDK's BedrockRuntimeClient (SigV4, HTTP/2, retries, event streams
 * are its job). One choice.
 */
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseCommandInput,
} from '@aws-sdk/client-bedrock-runtime';
import { bedrockConverseUsage } from '../normalise.js';
import { bedrockPricedModel, defaultBedrockEndpoint, withoutAwsSecrets } from './bedrock.js';
import { OutcomeBuilder, safeMessage, unfinishedStream } from './transport.js';
import type { CallEvents, CallOutcome, CallSpec, Provider, ProviderFailure } from './types.js';

/** One client per call: it carries this call's region, credentials, endpoint, retries and attempt log. */
function converseClient(spec: CallSpec, events?: CallEvents): BedrockRuntimeClient {
  const aws = spec.aws;
  if (!aws) throw new Error('a Bedrock call was planned without its AWS access');
  const client = new BedrockRuntimeClient({
    region: aws.region,
    endpoint: spec.baseURL ?? defaultBedrockEndpoint(aws.region),
    credentials: aws.credentials,
    // The SDK counts attempts; the others count retries (default 2).
    maxAttempts: (spec.maxRetries ?? 2) + 1,
  });
  const onLog = events?.onLog;
  // In the deserialize step, inside the retry loop: every attempt passes here once.
  if (onLog) client.middlewareStack.add(attemptLog(onLog), { step: 'deserialize', priority: 'high', name: 'llmUsageAttemptLog' });
  return client;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** One line per HTTP attempt: method, path, status, request id. Never headers or bodies. */
function attemptLog(onLog: (line: string) => void) {
  let attempts = 0;
  return <A extends { request: unknown }, R extends { response: unknown }>(next: (args: A) => Promise<R>) =>
    async (args: A): Promise<R> => {
      const attempt = ++attempts;
      const request = args.request as { method?: string; path?: string };
      const what = `attempt ${attempt}: ${request.method ?? 'POST'} ${request.path ?? ''}`;
      try {
        const result = await next(args);
        const response = result.response as { statusCode?: number; headers?: Record<string, string> };
        const id = response.headers?.['x-amzn-requestid'];
        onLog(`${what} -> ${response.statusCode}${id ? ` (request id ${id})` : ''}`);
        return result;
      } catch (err) {
        const e = err as SdkErrorLike;
        const status = e.$metadata?.httpStatusCode;
        const id = e.$metadata?.requestId;
        onLog(`${what} -> ${status ?? (e.name === 'AbortError' ? 'aborted' : `connection failed (${e.code ?? e.message ?? e.name})`)}${status && id ? ` (request id ${id})` : ''}`);
        throw err;
      }
    };
}

function converseInput(spec: CallSpec): ConverseCommandInput {
  const inference = {
    ...(spec.maxTokens !== undefined && { maxTokens: spec.maxTokens }),
    ...(spec.temperature !== undefined && { temperature: spec.temperature }),
  };
  return {
    modelId: spec.model,
    messages: [{ role: 'user', content: [{ text: spec.prompt }] }],
    ...(spec.system !== undefined && { system: [{ text: spec.system }] }),
    ...(Object.keys(inference).length > 0 && { inferenceConfig: inference }),
  };
}

async function complete(client: BedrockRuntimeClient, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const reply = await client.send(new ConverseCommand(converseInput(spec)), { abortSignal: spec.signal });
  out.requestId = reply.$metadata.requestId;
  for (const block of reply.output?.message?.content ?? []) if (block.text) out.append(0, block.text);
  out.usage = bedrockConverseUsage(reply.usage);
}

async function stream(client: BedrockRuntimeClient, spec: CallSpec, out: OutcomeBuilder, started: { value: boolean }): Promise<void> {
  const reply = await client.send(new ConverseStreamCommand(converseInput(spec)), { abortSignal: spec.signal });
  out.requestId = reply.$metadata.requestId;
  started.value = true;
  let metadata = false;
  for await (const event of reply.stream ?? []) {
    const text = event.contentBlockDelta?.delta?.text;
    if (text) out.append(0, text);
    if (event.metadata) {
      metadata = true;
      out.usage = bedrockConverseUsage(event.metadata.usage);
    }
  }
  if (!metadata) out.fail(unfinishedStream(spec.signal, 'the metadata event'));
}

/** A thrown SDK error as a failure: AWS's error (type and status), one in the stream, a broken connection, or an abort. */
function failureOf(err: unknown, spec: CallSpec, started: boolean): ProviderFailure {
  const e = err as SdkErrorLike;
  if (spec.signal?.aborted || e.name === 'AbortError') return { kind: 'aborted', message: 'request aborted by the caller' };
  const message = safeMessage(e.message || e.name || String(err), '');
  const requestId = e.$metadata?.requestId;
  const status = e.$metadata?.httpStatusCode;
  if (err instanceof BedrockRuntimeServiceException) {
    // An exception frame arrives after the 200: a stream error, not an HTTP one.
    const failure: ProviderFailure = status !== undefined && status >= 300 ? { kind: 'http', status, type: e.name, message } : { kind: 'stream-error', type: e.name, message };
    return requestId ? { ...failure, requestId } : failure;
  }
  if (!(err instanceof Error)) throw err;
  if (started) return { kind: 'stream-cut', message: `connection closed before the response ended (${message})` };
  return { kind: 'connection', message: e.code && !message.includes(e.code) ? `${message} (${e.code})` : message };
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(1, events);
  out.model = bedrockPricedModel(spec.model);
  const client = converseClient(spec, events);
  const started = { value: false };
  try {
    await (spec.stream ? stream(client, spec, out, started) : complete(client, spec, out));
  } catch (err) {
    out.fail(failureOf(err, spec, started.value));
  } finally {
    // Its HTTP/2 sessions would keep the process alive.
    client.destroy();
  }
  if (out.failure) out.failure = { ...out.failure, message: await withoutAwsSecrets(out.failure.message, spec.aws) };
  return out.outcome();
}

export const bedrockConverse: Provider = { call };

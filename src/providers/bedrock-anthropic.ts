/**
 * Claude on Amazon Bedrock: Anthropic messages through InvokeModel and
 * InvokeModelWithResponseStream, with @anthropic-ai/bedrock-sdk (it signs with SigV4 and turns
 * the binary event stream back into Anthropic's events). One choice.
 */
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { anthropicUsage } from '../normalise.js';
import { invocationMetricsUsage, invokeHeaderUsage } from '../wire/bedrock.js';
import { anthropicErrors, messageParams, readMessageStream } from './anthropic-messages.js';
import { bedrockPricedModel, defaultBedrockEndpoint, withoutAwsSecrets } from './bedrock.js';
import { attemptLoggingFetch, failureFrom, OutcomeBuilder } from './transport.js';
import type { CallEvents, CallOutcome, CallSpec, Provider } from './types.js';

/** Bedrock names its request id header x-amzn-requestid. */
const REQUEST_ID = 'x-amzn-requestid';

/** One client per call: it carries this call's region, credentials, endpoint, retries and attempt log. */
function bedrockClient(spec: CallSpec, events?: CallEvents): AnthropicBedrock {
  const aws = spec.aws;
  if (!aws) throw new Error('a Bedrock call was planned without its AWS access');
  const onLog = events?.onLog;
  return new AnthropicBedrock({
    awsRegion: aws.region,
    baseURL: spec.baseURL ?? defaultBedrockEndpoint(aws.region),
    // Always SigV4 with the default chain's credentials (never a bearer token from the environment).
    apiKey: null,
    providerChainResolver: async () => aws.credentials,
    ...(spec.maxRetries !== undefined && { maxRetries: spec.maxRetries }),
    ...(onLog && { fetch: attemptLoggingFetch(onLog, REQUEST_ID) }),
  });
}

/** Bedrock bills the model id that was invoked: price by it, unless an ARN hides it (then by the model the reply names). */
function modelOf(spec: CallSpec, replied: string | undefined): string | null {
  return bedrockPricedModel(spec.model) ?? (replied || null);
}

async function complete(client: AnthropicBedrock, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data, response } = await client.messages.create({ ...messageParams(spec), stream: false }, { signal: spec.signal }).withResponse();
  out.requestId = response.headers.get(REQUEST_ID) ?? undefined;
  out.model = modelOf(spec, data.model);
  for (const block of data.content ?? []) if (block.type === 'text') out.append(0, block.text);
  // Bedrock's own counts stand in when the body has no usage.
  out.usage = anthropicUsage(data.usage) ?? invokeHeaderUsage(response.headers);
}

async function stream(client: AnthropicBedrock, spec: CallSpec, out: OutcomeBuilder): Promise<void> {
  const { data: events, response } = await client.messages.create({ ...messageParams(spec), stream: true }, { signal: spec.signal }).withResponse();
  out.requestId = response.headers.get(REQUEST_ID) ?? undefined;
  out.model = modelOf(spec, undefined);
  await readMessageStream(events, spec, out, {
    model: (replied) => modelOf(spec, replied),
    // Bedrock adds its own counts to the last event.
    stopUsage: (event) => invocationMetricsUsage((event as unknown as Record<string, unknown>)['amazon-bedrock-invocationMetrics']),
  });
}

async function call(spec: CallSpec, events?: CallEvents): Promise<CallOutcome> {
  const out = new OutcomeBuilder(1, events);
  const client = bedrockClient(spec, events);
  try {
    await (spec.stream ? stream(client, spec, out) : complete(client, spec, out));
  } catch (err) {
    const failure = failureFrom(err, { apiKey: '', signal: spec.signal, sdk: anthropicErrors, requestId: out.requestId });
    // AWS names the error in a header (ThrottlingException, AccessDeniedException), not in the body.
    const awsType = (err as { headers?: Headers }).headers?.get?.('x-amzn-errortype')?.split(':')[0];
    const awsId = (err as { headers?: Headers }).headers?.get?.(REQUEST_ID);
    out.fail({ ...failure, ...(awsType && { type: awsType }), ...(awsId && !failure.requestId && { requestId: awsId }) });
  }
  if (out.failure) out.failure = { ...out.failure, message: await withoutAwsSecrets(out.failure.message, spec.aws) };
  return out.outcome();
}

export const bedrockAnthropic: Provider = { call };

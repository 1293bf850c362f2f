/**
 * Amazon Bedrock's row of the provider table: which models are Bedrock's, which API each speaks,
 * where calls go, how they are priced, and the AWS access (region and credentials) a call needs,
 * found as every AWS tool finds it. SDK-free until `awsAccessFor` runs: planning stays cheap.
 */
import { UsageError } from '../errors.js';
import { isBedrockModelId } from '../pricing/resolve.js';

/** The provider of pricing.json that prices Bedrock's models. */
export const BEDROCK_PRICING_PROVIDER = 'aws';

/** Where the endpoint comes from after --base-url, in order (the AWS SDKs' own variables). */
export const BEDROCK_ENDPOINT_VARS = ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'AWS_ENDPOINT_URL'] as const;

/** Whether a model name selects Bedrock without --provider: a Bedrock model id or ARN. */
export const isBedrockModel = isBedrockModelId;

/**
 * The model id an ARN names (`…:foundation-model/anthropic.claude-v2`,
 * `…:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0`); anything else as it is. An
 * application inference profile's ARN names only its own opaque id.
 */
export function bedrockResourceName(model: string): string {
  return /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:[a-z-]+\/(.+)$/.exec(model.trim())?.[1] ?? model.trim();
}

/**
 * Claude speaks Anthropic messages through InvokeModel (what `@anthropic-ai/bedrock-sdk` sends);
 * every other model, and a model an ARN does not name, speaks Converse (which Claude speaks too).
 */
export function bedrockApiOf(model: string): 'messages' | 'converse' {
  return /^(?:[a-z-]+\.)?anthropic\./i.test(bedrockResourceName(model)) ? 'messages' : 'converse';
}

/** The name to price a call by: the Bedrock model id (out of its ARN), or null when the ARN hides it. */
export function bedrockPricedModel(model: string): string | null {
  const name = bedrockResourceName(model);
  return isBedrockModelId(name) ? name : null;
}

/** AWS credentials as the SDKs' providers give them. Never printed, logged or recorded. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** What a Bedrock call needs besides the CallSpec: the region, and credentials (refreshed by the chain when they expire). */
export interface AwsAccess {
  region: string;
  credentials: () => Promise<AwsCredentials>;
}

const NO_REGION = 'no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or region in your AWS profile';
const NO_CREDENTIALS = 'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws (aws configure, aws sso login)';

/**
 * The region and credentials of the AWS default chain, checked before anything is sent: the
 * region from AWS_REGION, AWS_DEFAULT_REGION or the profile (AWS_PROFILE) in ~/.aws/config; the
 * credentials from `fromNodeProviderChain` (environment, profiles and SSO, web identity, container
 * and instance roles). Either missing is a UsageError naming what to set.
 */
export async function awsAccessFor(env: NodeJS.ProcessEnv): Promise<AwsAccess> {
  quietAwsSdk();
  const region = env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim() || (await profileRegion());
  if (!region) throw new UsageError(NO_REGION);
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(region)) throw new UsageError(`AWS region "${region.slice(0, 40)}" is not a region name such as us-east-1: check AWS_REGION`);
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const chain = fromNodeProviderChain();
  try {
    await chain();
  } catch (err) {
    // The chain's last word, when it says more than "could not load": a missing profile, an expired SSO session.
    const reason = err instanceof Error ? err.message.split('\n')[0]?.trim() : '';
    const said = reason && !/could not load credentials from any providers/i.test(reason) ? ` (${reason.replace(/\.$/, '')})` : '';
    throw new UsageError(`${NO_CREDENTIALS}${said}`);
  }
  return { region, credentials: chain };
}

/** The region of the AWS profile in the shared config file, read as the SDK reads it; null when none. */
async function profileRegion(): Promise<string | null> {
  const { BedrockRuntimeClient } = await import('@aws-sdk/client-bedrock-runtime');
  const client = new BedrockRuntimeClient({});
  try {
    return (await client.config.region()) || null;
  } catch {
    return null;
  } finally {
    client.destroy();
  }
}

/**
 * The AWS SDK for JavaScript v3 warns on stderr that its later versions will need Node 22: noise
 * our users cannot act on. Its own switch turns off exactly that warning and nothing else (set
 * before the SDK is loaded; a user's own setting is kept).
 */
export function quietAwsSdk(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

/**
 * A failure message without the call's AWS secret key and session token (a server or proxy that
 * echoes them back): redacted here, where the credentials are known, as API keys are in transport.
 */
export async function withoutAwsSecrets(message: string, aws: AwsAccess | undefined): Promise<string> {
  if (!aws) return message;
  let credentials: AwsCredentials;
  try {
    credentials = await aws.credentials();
  } catch {
    return message;
  }
  let out = message;
  for (const secret of [credentials.secretAccessKey, credentials.sessionToken]) {
    if (secret && secret.length >= 8) out = out.split(secret).join('***');
  }
  return out;
}

/** The endpoint when none was configured: the region's public one. */
export function defaultBedrockEndpoint(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

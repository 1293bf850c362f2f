/**
 * The provider for an API flavour. Each flavour is imported on demand so a command never
 * loads an SDK it doesn't use (startup time of the CLI).
 */
import type { Api, CallSpec, Provider, ProviderName } from './types.js';

export type {
  Api,
  CallEvents,
  CallOutcome,
  CallSpec,
  FailureKind,
  Provider,
  ProviderFailure,
  ProviderName,
} from './types.js';

export async function providerFor(api: Api, provider: ProviderName = providerNameFor(api)): Promise<Provider> {
  if (provider === 'bedrock') {
    (await import('./bedrock.js')).quietAwsSdk();
    if (api === 'messages') return (await import('./bedrock-anthropic.js')).bedrockAnthropic;
  }
  switch (api) {
    case 'chat':
      return (await import('./openai-chat.js')).openAIChat;
    case 'completions':
      return (await import('./openai-completions.js')).openAICompletions;
    case 'responses':
      return (await import('./openai-responses.js')).openAIResponses;
    case 'messages':
      return (await import('./anthropic-messages.js')).anthropicMessages;
    case 'converse':
      return (await import('./bedrock-converse.js')).bedrockConverse;
    case 'gemini':
      return (await import('./gemini.js')).gemini;
  }
}

/** The provider that serves an API flavour. */
export function providerNameFor(api: Api): ProviderName {
  return api === 'messages' ? 'anthropic' : api === 'converse' ? 'bedrock' : api === 'gemini' ? 'google' : 'openai';
}

/**
 * The calls, ready to send: what a provider can only find asynchronously is filled in, and its
 * absence is a UsageError before anything is sent (Bedrock: the AWS region and credentials, and
 * the region's endpoint when none was configured).
 */
export async function readyToSend(specs: CallSpec[], env: NodeJS.ProcessEnv): Promise<CallSpec[]> {
  if (!specs.some((s) => s.provider === 'bedrock')) return specs;
  const { awsAccessFor, defaultBedrockEndpoint } = await import('./bedrock.js');
  const aws = await awsAccessFor(env);
  return specs.map((s) => (s.provider === 'bedrock' ? { ...s, aws, baseURL: s.baseURL ?? defaultBedrockEndpoint(aws.region) } : s));
}

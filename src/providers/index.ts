/**
 * The provider for an API flavour. Each flavour is imported on demand so a command never
 * loads an SDK it doesn't use (startup time of the CLI).
 */
import type { Api, Provider, ProviderName } from './types.js';

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

export async function providerFor(api: Api): Promise<Provider> {
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
      throw new Error('Bedrock Converse is not called by run/stream yet');
  }
}

/** The provider that serves an API flavour. */
export function providerNameFor(api: Api): ProviderName {
  return api === 'messages' ? 'anthropic' : api === 'converse' ? 'bedrock' : 'openai';
}

/**
 * The provider table: one row per provider, holding what planning a call needs to know of it.
 * Adding a provider is a file of its own facts and a row here (or, for an OpenAI-compatible one,
 * a row of compat.ts's table); plan.ts reads the rows and names no provider. SDK-free and pure.
 */
import { AZURE_AD_TOKEN_VAR, AZURE_ENDPOINT_VAR, AZURE_EXAMPLE_ENDPOINT, AZURE_KEY_VAR, azureConnection, azureDeploymentOf } from './azure.js';
import { BEDROCK_ENDPOINT_VARS, bedrockApiOf, defaultBedrockEndpoint, isBedrockModel } from './bedrock.js';
import { COMPAT_PROVIDERS, compatBaseUrl, compatModelOf, type CompatName, type CompatRow } from './compat.js';
import { GOOGLE_BASE_URL_VAR, GOOGLE_DEFAULT_BASE_URL, GOOGLE_KEY_VAR, GOOGLE_KEY_VARS, GOOGLE_OPENAI_PATH, googleKeyOf, googleModelOf, isGoogleModel } from './google.js';
import type { Api, CallSpec, ProviderName } from './types.js';

export interface ProviderRow {
  readonly name: ProviderName;
  /** Other names `--provider` takes for it. */
  readonly aliases?: readonly string[];
  /** Whether a model name selects it without --provider; the one row without this takes every other name. */
  readonly selects?: (model: string) => boolean;
  /** The model it is asked for when the name carries its prefix (azure/DEPLOYMENT, groq/MODEL); null without one. */
  readonly prefixedModel?: (model: string) => string | null;
  /** What --provider OTHER is told of a model with this row's prefix (without this, the prefix is OTHER's model name). */
  readonly refusesOtherProvider?: (model: string, flag: string) => string;
  /** --provider NAME takes a model under another row's prefix as a model name of its own (openrouter's google/gemini-2.5-flash). */
  readonly takesAnyModelName?: true;
  readonly apis: readonly Api[];
  /** The API without --api (--base-url: the one given). */
  readonly defaultApi: (model: string, baseUrl: string | undefined) => Api;
  /** What --api is told when it names an API this provider does not serve. */
  readonly refusedApi: (api: string) => string;
  /** Where its key is read; a missing key's message names the first. Empty: it takes none. */
  readonly keyVars: readonly string[];
  /** The key sent, '' when none is set; without this, the first key variable's value. */
  readonly keyOf?: (env: NodeJS.ProcessEnv) => string;
  /** What a 401 or 403 says to check, where that is not one of the key variables. */
  readonly keyHint?: string;
  /** Where its base URL comes from after --base-url: the first variable set. */
  readonly baseUrlVars: readonly string[];
  /** Its own reading of those variables, where it is more than the first one set. */
  readonly envBaseUrl?: (env: NodeJS.ProcessEnv) => { url: string; source: string };
  /** A base URL to show in the message for a bad one. */
  readonly exampleBaseUrl: string;
  /** The base URL an API is called at, under the one configured (Google's OpenAI-compatible endpoint). */
  readonly apiBaseUrl?: (api: Api, base: string | undefined) => string | undefined;
  /** Where the endpoint and credentials are read together, in place of keyVars and baseUrlVars (Azure's API version). */
  readonly connect?: (flag: string | undefined, env: NodeJS.ProcessEnv, requireKey: boolean) => Pick<CallSpec, 'apiKey' | 'baseURL' | 'azure'>;
  /** The pricing.json provider whose models --provider NAME refuses (its own API serves none of them) unless --base-url is given. */
  readonly refusesModelsOf?: ProviderName;
}

// Models served only by the legacy completions endpoint.
const LEGACY_COMPLETION = /^(gpt-3\.5-turbo-instruct|davinci-002|babbage-002|text-(davinci|curie|babbage|ada)-\d{3}|davinci|curie|babbage|ada)(\b|$)/;

const OPENAI_APIS: readonly Api[] = ['chat', 'completions', 'responses'];
const openAIDefaultApi = (model: string): Api => (LEGACY_COMPLETION.test(model.replace(/^ft:/, '')) ? 'completions' : 'chat');
const openAIRefusal = (api: string) => `--api must be chat, completions or responses, not "${api}"`;

/** What a provider that speaks OpenAI's or Anthropic's formats says to Bedrock's and Google's own APIs, else `own`. */
function refusedForeignApi(api: string, own: string): string {
  if (api === 'converse') return '--api converse is Bedrock\'s: give a Bedrock model id, or --provider bedrock';
  if (api === 'gemini') return '--api gemini is Google\'s: give a gemini-* model, or --provider google';
  return own;
}

/** A compatible provider's row, from its row in compat.ts: OpenAI's chat (and maybe legacy completions) at its own base URL. */
function compatProvider(row: CompatRow & { id: CompatName }): ProviderRow {
  const prefixedModel = (model: string) => {
    const prefixed = compatModelOf(model);
    return prefixed?.provider === row.id ? prefixed.model : null;
  };
  return {
    name: row.id,
    selects: (model) => prefixedModel(model) !== null,
    // Once: openrouter/openai/gpt-4o asks for openai/gpt-4o.
    prefixedModel,
    takesAnyModelName: true,
    apis: row.completions ? ['chat', 'completions'] : ['chat'],
    defaultApi: () => 'chat',
    refusedApi: (api) => refusedForeignApi(api, `--api on ${row.id} is chat${row.completions ? ' or completions' : ''}, not "${api}"`),
    keyVars: row.keyVar ? [row.keyVar] : [],
    // A keyless local server (ollama) still gets a placeholder: the openai SDK refuses to send without one.
    ...(row.keyVar ? {} : { keyOf: () => row.id, keyHint: `${row.id}'s server (it takes no key)` }),
    baseUrlVars: [row.sdk?.variable, row.hostVar].filter((name): name is string => name !== undefined),
    envBaseUrl: (env) => compatBaseUrl(row.id, env),
    exampleBaseUrl: row.baseUrl,
  };
}

export const PROVIDERS: readonly ProviderRow[] = [
  {
    name: 'openai',
    apis: OPENAI_APIS,
    defaultApi: openAIDefaultApi,
    refusedApi: (api) => refusedForeignApi(api, openAIRefusal(api)),
    keyVars: ['OPENAI_API_KEY'],
    baseUrlVars: ['OPENAI_BASE_URL'],
    exampleBaseUrl: 'https://api.openai.com/v1',
    refusesModelsOf: 'anthropic',
  },
  {
    name: 'anthropic',
    selects: (model) => /^claude-/i.test(model),
    apis: ['messages'],
    defaultApi: () => 'messages',
    refusedApi: (api) => refusedForeignApi(api, `--api ${api} is an OpenAI API; Anthropic models use messages`),
    keyVars: ['ANTHROPIC_API_KEY'],
    // Without /v1: the Anthropic SDK's convention.
    baseUrlVars: ['ANTHROPIC_BASE_URL'],
    exampleBaseUrl: 'https://api.anthropic.com',
    refusesModelsOf: 'openai',
  },
  {
    // OpenAI's wire formats, to a deployment: --model names the deployment (providers/azure.ts).
    name: 'azure',
    selects: (model) => azureDeploymentOf(model) !== null,
    prefixedModel: azureDeploymentOf,
    refusesOtherProvider: (model, flag) => `--model ${model} is an Azure deployment: drop --provider ${flag}, or the azure/ prefix`,
    apis: OPENAI_APIS,
    defaultApi: openAIDefaultApi,
    refusedApi: (api) => refusedForeignApi(api, api === 'messages' ? '--api messages is Anthropic\'s; Azure OpenAI deployments use chat, completions or responses' : openAIRefusal(api)),
    keyVars: [AZURE_KEY_VAR, AZURE_AD_TOKEN_VAR],
    baseUrlVars: [AZURE_ENDPOINT_VAR],
    exampleBaseUrl: AZURE_EXAMPLE_ENDPOINT,
    connect: (flag, env, requireKey) => {
      const azure = azureConnection(flag, env, requireKey);
      return { apiKey: azure.apiKey, baseURL: azure.endpoint, azure: { apiVersion: azure.apiVersion, adToken: azure.adToken } };
    },
  },
  {
    // Claude through InvokeModel, every other model through Converse; AWS credentials, found by readyToSend.
    name: 'bedrock',
    selects: isBedrockModel,
    apis: ['messages', 'converse'],
    defaultApi: bedrockApiOf,
    refusedApi: (api) => `--api on Bedrock is messages (Claude, through InvokeModel) or converse, not "${api}"`,
    keyVars: [],
    keyHint: 'the AWS credentials: AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    baseUrlVars: BEDROCK_ENDPOINT_VARS,
    exampleBaseUrl: defaultBedrockEndpoint('us-east-1'),
  },
  {
    name: 'google',
    // LiteLLM's name for Google's Gemini API.
    aliases: ['gemini'],
    selects: isGoogleModel,
    prefixedModel: googleModelOf,
    refusesOtherProvider: (model, flag) => `--model ${model} names Google's Gemini API: drop --provider ${flag}, or the ${model.split('/')[0]}/ prefix`,
    apis: ['gemini', 'chat'],
    // chat: Gemini's OpenAI-compatible endpoint (…/v1beta/openai), through the OpenAI SDK.
    defaultApi: (_model, baseUrl) => (/\/openai\/*$/.test(baseUrl ?? '') ? 'chat' : 'gemini'),
    refusedApi: (api) => `--api on Google is gemini (generateContent) or chat (its OpenAI-compatible endpoint), not "${api}"`,
    // The name Google's docs give first, then the SDK's other (which it reads first).
    keyVars: [GOOGLE_KEY_VAR, ...GOOGLE_KEY_VARS.filter((name) => name !== GOOGLE_KEY_VAR)],
    keyOf: (env) => googleKeyOf(env)?.value ?? '',
    // The @google/genai SDK's; without the API version, which the SDK adds.
    baseUrlVars: [GOOGLE_BASE_URL_VAR],
    exampleBaseUrl: GOOGLE_DEFAULT_BASE_URL,
    apiBaseUrl: (api, base) => (api !== 'chat' || (base && /\/openai$/.test(base)) ? base : `${base ?? GOOGLE_DEFAULT_BASE_URL}${GOOGLE_OPENAI_PATH}`),
    refusesModelsOf: 'openai',
  },
  ...COMPAT_PROVIDERS.map(compatProvider),
];

export function providerRow(name: ProviderName): ProviderRow {
  return PROVIDERS.find((row) => row.name === name) as ProviderRow;
}

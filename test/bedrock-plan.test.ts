// Which calls are Bedrock's, which API each speaks, and where it goes: pure planning, no SDK.

import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { apiOf, baseUrlOf, planCalls, providerOf } from '../src/plan.js';
import { bedrockApiOf, bedrockPricedModel, bedrockResourceName } from '../src/providers/bedrock.js';

const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
const FOUNDATION_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0';
const APPLICATION_ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';

describe('which calls are Bedrock', () => {
  it('Bedrock model ids, cross-region profiles and ARNs select Bedrock without --provider', () => {
    for (const model of [
      'anthropic.claude-v2',
      'anthropic.claude-v2:1',
      'amazon.nova-pro-v1:0',
      'meta.llama3-70b-instruct-v1:0',
      'mistral.mistral-large-2402-v1:0',
      'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      'eu.amazon.nova-lite-v1:0',
      'apac.anthropic.claude-3-haiku-20240307-v1:0',
      'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      PROFILE_ARN,
      FOUNDATION_ARN,
      APPLICATION_ARN,
    ]) {
      expect(providerOf({ model }), model).toBe('bedrock');
    }
  });

  it('other names do not: OpenAI and Anthropic models, dotted local names', () => {
    expect(providerOf({ model: 'gpt-4o-mini' })).toBe('openai');
    expect(providerOf({ model: 'gpt-3.5-turbo' })).toBe('openai');
    expect(providerOf({ model: 'claude-3-haiku-20240307' })).toBe('anthropic');
    expect(providerOf({ model: 'llama3.1:8b' })).toBe('openai');
    expect(providerOf({ model: 'arn:aws:s3:::bucket/key' })).toBe('openai');
    expect(providerOf({ model: 'my-model', provider: 'bedrock' })).toBe('bedrock');
    expect(() => providerOf({ model: 'x', provider: 'aws' })).toThrow(UsageError);
  });

  it('Claude speaks messages (InvokeModel), every other model Converse; --api chooses between them only', () => {
    expect(apiOf({ model: 'anthropic.claude-v2' }, 'bedrock')).toBe('messages');
    expect(apiOf({ model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' }, 'bedrock')).toBe('messages');
    expect(apiOf({ model: PROFILE_ARN }, 'bedrock')).toBe('messages');
    expect(apiOf({ model: FOUNDATION_ARN }, 'bedrock')).toBe('converse');
    expect(apiOf({ model: APPLICATION_ARN }, 'bedrock')).toBe('converse');
    expect(apiOf({ model: 'meta.llama3-70b-instruct-v1:0' }, 'bedrock')).toBe('converse');
    expect(apiOf({ model: 'anthropic.claude-v2', api: 'converse' }, 'bedrock')).toBe('converse');
    expect(() => apiOf({ model: 'anthropic.claude-v2', api: 'chat' }, 'bedrock')).toThrow(/messages.*or converse/);
    expect(() => apiOf({ model: 'gpt-4o', api: 'converse' }, 'openai')).toThrow(UsageError);
  });

  it('an ARN is priced by the model id it names; an application profile names none', () => {
    expect(bedrockResourceName(PROFILE_ARN)).toBe('us.anthropic.claude-3-haiku-20240307-v1:0');
    expect(bedrockPricedModel(PROFILE_ARN)).toBe('us.anthropic.claude-3-haiku-20240307-v1:0');
    expect(bedrockPricedModel(FOUNDATION_ARN)).toBe('amazon.nova-pro-v1:0');
    expect(bedrockPricedModel(APPLICATION_ARN)).toBeNull();
    expect(bedrockPricedModel('anthropic.claude-v2')).toBe('anthropic.claude-v2');
    expect(bedrockApiOf('anthropic.claude-v2')).toBe('messages');
  });
});

describe('where Bedrock calls go', () => {
  it('--base-url, else AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS_ENDPOINT_URL, else (later) the region endpoint', () => {
    const env = { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://127.0.0.1:1/', AWS_ENDPOINT_URL: 'http://127.0.0.1:2' };
    expect(baseUrlOf('bedrock', 'http://127.0.0.1:3', env)).toBe('http://127.0.0.1:3');
    expect(baseUrlOf('bedrock', undefined, env)).toBe('http://127.0.0.1:1');
    expect(baseUrlOf('bedrock', undefined, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: ' ', AWS_ENDPOINT_URL: 'http://127.0.0.1:2' })).toBe('http://127.0.0.1:2');
    expect(baseUrlOf('bedrock', undefined, {})).toBeUndefined();
    // The other providers never read AWS's variables.
    expect(baseUrlOf('openai', undefined, env)).toBeUndefined();
    expect(() => baseUrlOf('bedrock', undefined, { AWS_ENDPOINT_URL: 'ftp://x' })).toThrow(/AWS_ENDPOINT_URL: ftp:\/\/ is not supported/);
  });

  it('planning a Bedrock call asks for no API key (AWS credentials are found before sending)', () => {
    const [spec] = planCalls(['hi'], { model: 'anthropic.claude-v2', stream: false, streamUsage: false }, {});
    expect(spec).toMatchObject({ provider: 'bedrock', api: 'messages', apiKey: '', model: 'anthropic.claude-v2' });
    expect(spec?.aws).toBeUndefined();
    expect(() => planCalls(['hi'], { model: 'amazon.nova-pro-v1:0', n: 2, stream: false, streamUsage: false }, {})).toThrow(/-n 2/);
  });
});

// Google's Gemini API and the OpenAI-compatible providers side by side: one proxy routes both,
// one --provider table picks either, and a Gemini model name under a compatible provider
// (openrouter/google/...) stays that provider's. Pure.
import { describe, expect, it } from 'vitest';
import { providerOf } from '../src/plan.js';
import { clientEnv, routeOf, upstreamsOf, type Route } from '../src/proxy/routes.js';

const origin = 'http://127.0.0.1:4747';

describe('Gemini and the compatible providers together', () => {
  it('one proxy routes Gemini paths to --google-upstream and /NAME/v1 paths to --upstream NAME=URL', () => {
    const upstreams = upstreamsOf({ google: 'http://127.0.0.1:9002/g', compat: ['groq=http://127.0.0.1:9001/groq'] }, {});
    const route = (target: string) => routeOf('POST', target, {}, upstreams, origin) as Route & { refusal?: string };
    expect(route('/v1beta/models/gemini-2.5-flash:generateContent')).toMatchObject({ provider: 'google', api: 'gemini', upstreamPath: '/g/v1beta/models/gemini-2.5-flash:generateContent' });
    expect(route('/v1beta/openai/chat/completions')).toMatchObject({ provider: 'google', api: 'chat' });
    const g = route('/groq/v1/chat/completions');
    expect([g.provider, g.api, g.upstream?.href, g.upstreamPath]).toEqual(['groq', 'chat', 'http://127.0.0.1:9001/groq', '/groq/chat/completions']);
    expect(route('/v1beta/../../groq/v1/chat/completions').refusal).toBe('bad-path');
  });

  it('exec sets both sets of variables', () => {
    const env = clientEnv({}, origin);
    expect(env).toMatchObject({ GOOGLE_GEMINI_BASE_URL: origin, GROQ_BASE_URL: `${origin}/groq`, TOGETHER_BASE_URL: `${origin}/together/v1`, CEREBRAS_BASE_URL: `${origin}/cerebras` });
  });

  it('--provider and NAME/MODEL pick either', () => {
    expect(providerOf({ model: 'gemini-2.5-flash' })).toBe('google');
    expect(providerOf({ model: 'gemini/gemini-2.5-flash' })).toBe('google');
    expect(providerOf({ provider: 'gemini', model: 'gemini-2.5-flash' })).toBe('google');
    expect(providerOf({ model: 'groq/llama-3.1-8b-instant' })).toBe('groq');
    expect(providerOf({ model: 'openrouter/google/gemini-2.5-flash' })).toBe('openrouter');
    expect(providerOf({ provider: 'openrouter', model: 'google/gemini-2.5-flash' })).toBe('openrouter');
    expect(() => providerOf({ provider: 'openai', model: 'google/gemini-2.5-flash' })).toThrow(/names Google's Gemini API/);
  });
});

// The compatible providers through the metering proxy: their path prefixes, upstreams and
// client variables (src/proxy/compat.ts, routes.ts). Pure.
import { describe, expect, it } from 'vitest';
import { compatUpstreamsOf } from '../src/proxy/compat.js';
import { clientEnv, clientProvidersOf, routeOf, upstreamsOf, type Route } from '../src/proxy/routes.js';

const origin = 'http://127.0.0.1:4747';
const upstreams = upstreamsOf({ compat: ['deepseek=http://127.0.0.1:9001/ds'] }, {});
const route = (method: string, target: string) => routeOf(method, target, {}, upstreams, origin) as Route & { refusal?: string };

describe('compatible providers on their path prefixes', () => {
  it('/NAME/v1/... goes to the provider\'s public base URL, metered as the OpenAI API it is', () => {
    const r = route('POST', '/groq/v1/chat/completions');
    expect([r.provider, r.api, r.upstream?.href, r.upstreamPath]).toEqual(['groq', 'chat', 'https://api.groq.com/openai/v1', '/openai/v1/chat/completions']);
    const m = route('POST', '/mistral/v1/chat/completions?x=1');
    expect([m.provider, m.upstream?.origin, m.upstreamPath]).toEqual(['mistral', 'https://api.mistral.ai', '/v1/chat/completions?x=1']);
    const f = route('POST', '/fireworks/v1/completions');
    expect([f.api, f.upstreamPath]).toEqual(['completions', '/inference/v1/completions']);
    const p = route('POST', '/perplexity/v1/chat/completions');
    expect([p.upstream?.origin, p.upstreamPath]).toEqual(['https://api.perplexity.ai', '/chat/completions']);
  });

  it('the path each SDK adds to its base-URL variable is the same route (groq-sdk: /openai/v1)', () => {
    const r = route('POST', '/groq/openai/v1/chat/completions');
    expect([r.provider, r.api, r.upstreamPath]).toEqual(['groq', 'chat', '/openai/v1/chat/completions']);
    expect(route('POST', '/cerebras/v1/chat/completions').upstreamPath).toBe('/v1/chat/completions');
    expect(route('POST', '/together/v1/chat/completions').upstreamPath).toBe('/v1/chat/completions');
  });

  it('--upstream NAME=URL replaces the public base URL; other paths pass through unmetered; none climbs out', () => {
    const r = route('POST', '/deepseek/v1/chat/completions');
    expect([r.upstream?.href, r.upstreamPath, r.api]).toEqual(['http://127.0.0.1:9001/ds', '/ds/chat/completions', 'chat']);
    expect(route('GET', '/deepseek/v1/models')).toMatchObject({ provider: 'deepseek', api: null, upstreamPath: '/ds/models' });
    expect(route('POST', '/groq/v1/../../v1/chat/completions').refusal).toBe('bad-path');
    expect(route('POST', '/groq/chat/completions').refusal).toBe('no-route');
  });

  it('--upstream: bad names and URLs are UsageErrors naming the flag; OLLAMA_HOST and the SDK variables are upstreams', () => {
    expect(() => compatUpstreamsOf(['grok=http://x'], {})).toThrow(/^--upstream "grok=http:\/\/x": give NAME=URL/);
    expect(() => compatUpstreamsOf(['groq'], {})).toThrow(/--upstream "groq": give NAME=URL/);
    expect(() => compatUpstreamsOf(['groq=ftp://x'], {})).toThrow(/--upstream groq: not an http/);
    expect(() => compatUpstreamsOf(['groq=http://u:secret@x/?k=1'], {})).toThrow(/must not have a query/);
    const u = compatUpstreamsOf([], { OLLAMA_HOST: '0.0.0.0:11434', GROQ_BASE_URL: 'https://gw.example/groq/', TOGETHER_BASE_URL: 'https://gw.example/together/v1' });
    expect(Object.fromEntries(Object.entries(u).map(([k, v]) => [k, v?.href]))).toEqual({
      ollama: 'http://127.0.0.1:11434/v1',
      groq: 'https://gw.example/groq/openai/v1',
      together: 'https://gw.example/together/v1',
    });
    // --upstream wins over the variable.
    expect(compatUpstreamsOf(['groq=http://127.0.0.1:1/v1'], { GROQ_BASE_URL: 'https://gw.example' }).groq?.href).toBe('http://127.0.0.1:1/v1');
  });

  it('exec gives CMD the SDK variables, each where its SDK adds its own path', () => {
    const env = clientEnv({}, origin, clientProvidersOf('groq,together,cerebras'));
    expect(env).toEqual({ GROQ_BASE_URL: `${origin}/groq`, TOGETHER_BASE_URL: `${origin}/together/v1`, CEREBRAS_BASE_URL: `${origin}/cerebras` });
    expect(() => clientProvidersOf('deepseek')).toThrow(/"deepseek" is not one of openai, anthropic, azure, bedrock, google, groq, together, cerebras/);
  });
});

// Azure OpenAI, pure parts: where a call goes (plan), how a proxied request is routed, which
// variables a wrapped program gets, how an Azure stream is read, and what a call costs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planCalls, type CallOptions } from '../src/plan.js';
import { loadPriceTable } from '../src/pricing/table.js';
import { UsageStripper } from '../src/proxy/rewrite.js';
import { clientEnv, clientProvidersOf, loopingUpstream, routeOf, upstreamsOf, type Upstreams } from '../src/proxy/routes.js';
import { recordOf } from '../src/record.js';
import { tallyOf } from '../src/tally.js';
import { renderSummary } from '../src/render/summary.js';
import { bodyOutcome, streamMeter } from '../src/wire/index.js';

const ORIGIN = 'http://127.0.0.1:4747';
const KEY = 'azure0123456789abcdef0123456789ab';
const table = loadPriceTable();

describe('Azure calls: where they go and with what', () => {
  const opts = (extra: Partial<CallOptions> = {}): CallOptions => ({ model: 'azure/my-gpt4o', stream: false, streamUsage: false, ...extra });
  const env = { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/', AZURE_OPENAI_API_KEY: KEY };

  it('azure/DEPLOYMENT or --provider azure: the deployment, the endpoint, the key, the default GA API version', () => {
    const [spec] = planCalls(['hi'], opts(), env);
    expect(spec).toMatchObject({ provider: 'azure', api: 'chat', model: 'my-gpt4o', apiKey: KEY, baseURL: 'https://res.openai.azure.com', azure: { apiVersion: '2024-10-21', adToken: false } });
    expect(planCalls(['hi'], opts({ model: 'my-gpt4o', provider: 'azure' }), env)[0]).toMatchObject({ provider: 'azure', model: 'my-gpt4o' });
    expect(planCalls(['hi'], opts({ api: 'completions' }), env)[0]?.api).toBe('completions');
  });

  it('--base-url over AZURE_OPENAI_ENDPOINT (its /openai or /openai/v1 dropped), OPENAI_API_VERSION, an Entra ID token', () => {
    expect(planCalls(['hi'], opts({ baseUrl: 'http://127.0.0.1:9/openai/v1/' }), env)[0]?.baseURL).toBe('http://127.0.0.1:9');
    expect(planCalls(['hi'], opts(), { ...env, OPENAI_API_VERSION: '2025-04-01-preview' })[0]?.azure).toEqual({ apiVersion: '2025-04-01-preview', adToken: false });
    const token = planCalls(['hi'], opts(), { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com', AZURE_OPENAI_AD_TOKEN: 'eyJtoken' })[0];
    expect(token).toMatchObject({ apiKey: 'eyJtoken', azure: { adToken: true } });
  });

  it('what is missing or wrong is one line naming what to set', () => {
    expect(() => planCalls(['hi'], opts(), { AZURE_OPENAI_API_KEY: KEY })).toThrow(/^no Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT \(https:\/\/RESOURCE\.openai\.azure\.com\), or give --base-url$/);
    expect(() => planCalls(['hi'], opts(), { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com' })).toThrow(/^no Azure OpenAI key: set AZURE_OPENAI_API_KEY, or AZURE_OPENAI_AD_TOKEN/);
    // A dry run sends nothing, so needs no key.
    expect(planCalls(['hi'], opts(), { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com' }, false)).toHaveLength(1);
    expect(() => planCalls(['hi'], opts(), { ...env, OPENAI_API_VERSION: 'yesterday' })).toThrow(/^OPENAI_API_VERSION "yesterday" is not an API version/);
    expect(() => planCalls(['hi'], opts({ baseUrl: 'ftp://x' }), env)).toThrow(/^--base-url: ftp:\/\/ is not supported/);
    expect(() => planCalls(['hi'], opts({ provider: 'openai' }), env)).toThrow(/^--model azure\/my-gpt4o is an Azure deployment: drop --provider openai/);
    expect(() => planCalls(['hi'], opts({ api: 'messages' }), env)).toThrow(/Azure OpenAI deployments use chat, completions or responses/);
  });
});

describe('Azure requests through the proxy', () => {
  const upstreams: Upstreams = { openai: new URL('https://api.openai.com/v1'), anthropic: new URL('https://api.anthropic.com'), azure: new URL('https://res.openai.azure.com/') };
  const route = (method: string, target: string, headers = {}, u = upstreams) => routeOf(method, target, headers, u, ORIGIN);
  const q = '?api-version=2024-10-21';

  it('the deployments form: each API metered by the deployment its path names, sent to the Azure upstream as it came', () => {
    expect(route('POST', `/openai/deployments/my-gpt4o/chat/completions${q}`, { 'api-key': KEY })).toEqual({ provider: 'azure', api: 'chat', upstreamPath: `/openai/deployments/my-gpt4o/chat/completions${q}`, deployment: 'my-gpt4o' });
    expect(route('POST', `/openai/deployments/inst/completions${q}`)).toMatchObject({ provider: 'azure', api: 'completions', deployment: 'inst' });
    expect(route('POST', `/openai/deployments/emb/embeddings${q}`)).toMatchObject({ provider: 'azure', api: 'embeddings', deployment: 'emb' });
    expect(route('POST', `/openai/deployments/my%20dep/chat/completions${q}`)).toMatchObject({ deployment: 'my dep' });
    expect(route('GET', `/openai/models${q}`)).toEqual({ provider: 'azure', api: null, upstreamPath: `/openai/models${q}` });
    const gateway = { ...upstreams, azure: new URL('https://gw.example/azure/') };
    expect(route('POST', `/openai/deployments/d/chat/completions${q}`, {}, gateway)).toMatchObject({ upstreamPath: `/azure/openai/deployments/d/chat/completions${q}` });
  });

  it('the /openai/v1 form: the deployment is the body\'s model', () => {
    expect(route('POST', '/openai/v1/chat/completions', { authorization: `Bearer ${KEY}` })).toEqual({ provider: 'azure', api: 'chat', upstreamPath: '/openai/v1/chat/completions' });
    expect(route('POST', '/openai/v1/responses')).toMatchObject({ provider: 'azure', api: 'responses' });
    expect(route('POST', '/openai/v1/embeddings')).toMatchObject({ provider: 'azure', api: 'embeddings' });
  });

  it('AzureOpenAI that took OPENAI_BASE_URL (exec sets it) as its base URL reaches Azure\'s /openai paths', () => {
    expect(route('POST', `/v1/deployments/my-gpt4o/chat/completions${q}`, { 'api-key': KEY })).toEqual({ provider: 'azure', api: 'chat', upstreamPath: `/openai/deployments/my-gpt4o/chat/completions${q}`, deployment: 'my-gpt4o' });
    expect(route('POST', `/v1/responses${q}`)).toMatchObject({ provider: 'azure', api: 'responses', upstreamPath: `/openai/responses${q}` });
    // An api-key is Azure's: it never goes to the OpenAI upstream.
    expect(route('POST', '/v1/chat/completions', { 'api-key': KEY })).toMatchObject({ provider: 'azure', upstreamPath: '/openai/chat/completions' });
    expect(route('POST', '/v1/chat/completions', { authorization: 'Bearer sk-x' })).toMatchObject({ provider: 'openai', upstreamPath: '/v1/chat/completions' });
  });

  it('never leaves /openai, and never sends an Azure key elsewhere when no Azure upstream is configured', () => {
    expect(route('POST', '/openai/../v1/chat/completions')).toMatchObject({ refusal: 'bad-path' });
    expect(route('POST', '/openai/deployments/d/../../../admin')).toMatchObject({ refusal: 'bad-path' });
    const none: Upstreams = { openai: upstreams.openai, anthropic: upstreams.anthropic };
    for (const [target, headers] of [
      [`/openai/deployments/d/chat/completions${q}`, { 'api-key': KEY }],
      [`/v1/deployments/d/chat/completions${q}`, {}],
      ['/v1/chat/completions', { 'api-key': KEY }],
      ['/messages', { 'api-key': KEY }],
    ] as const) {
      const r = route('POST', target, headers, none);
      expect({ target, refusal: 'refusal' in r ? r.refusal : null, provider: r.provider }).toEqual({ target, refusal: 'azure', provider: 'openai' });
      expect(JSON.stringify(r)).not.toContain(KEY);
    }
  });

  it('the Azure upstream: --azure-upstream, else AZURE_OPENAI_ENDPOINT, else none', () => {
    expect(upstreamsOf({}, {}).azure).toBeUndefined();
    expect(upstreamsOf({}, { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/' }).azure?.href).toBe('https://res.openai.azure.com/');
    expect(upstreamsOf({ azure: 'http://127.0.0.1:9' }, { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/' }).azure?.href).toBe('http://127.0.0.1:9/');
    expect(() => upstreamsOf({ azure: 'nope' }, {})).toThrow(/^--azure-upstream: "nope" is not a URL \(expected e\.g\. https:\/\/RESOURCE\.openai\.azure\.com\)$/);
    expect(() => upstreamsOf({}, { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/?x=1' })).toThrow(/^AZURE_OPENAI_ENDPOINT: .* must not have a query or fragment$/);
  });

  it('an Azure upstream that is the proxy itself (AZURE_OPENAI_ENDPOINT left pointing at it) is noticed; none is no loop', async () => {
    expect(await loopingUpstream(upstreamsOf({}, { AZURE_OPENAI_ENDPOINT: 'http://localhost:4747' }), '127.0.0.1', 4747)).toBe('azure');
    expect(await loopingUpstream(upstreamsOf({}, {}), '127.0.0.1', 4748)).toBeNull();
  });

  it('a wrapped program\'s AZURE_OPENAI_ENDPOINT points at the proxy; --providers sets only the providers named', () => {
    const user = { AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com', OPENAI_BASE_URL: 'http://mine/v1' };
    expect(clientEnv(user, ORIGIN)).toMatchObject({ AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_ENDPOINT: ORIGIN, OPENAI_BASE_URL: `${ORIGIN}/v1`, ANTHROPIC_BASE_URL: ORIGIN });
    const azureOnly = clientEnv(user, ORIGIN, clientProvidersOf('azure'));
    expect(azureOnly).toMatchObject({ AZURE_OPENAI_ENDPOINT: ORIGIN, OPENAI_BASE_URL: 'http://mine/v1' });
    expect(azureOnly.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(azureOnly.AWS_ENDPOINT_URL_BEDROCK_RUNTIME).toBeUndefined();
    expect(clientEnv({}, ORIGIN, clientProvidersOf('bedrock'))).toEqual({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: ORIGIN, ANTHROPIC_BEDROCK_BASE_URL: ORIGIN });
    expect(clientProvidersOf(' Azure,openai,azure')).toEqual(['azure', 'openai']);
    expect(() => clientProvidersOf('azure,gcp')).toThrow(/^--providers: "gcp" is not one of openai, anthropic, azure, bedrock, google, groq, together, cerebras$/);
  });
});

// Azure's stream: a first chunk with no choices, model "" and prompt_filter_results (not the
// usage chunk), then OpenAI's chunks, with `"usage":null` when usage was asked for.
const FILTER_CHUNK = 'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}\n\n';
const chunk = (fields: object) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-08-06', ...fields })}\n\n`;
const AZURE_USAGE = { prompt_tokens: 2000, completion_tokens: 600, total_tokens: 2600, prompt_tokens_details: { cached_tokens: 1500, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 500, audio_tokens: 0 } };

describe('an Azure stream, read by the OpenAI chat meter', () => {
  const stream = (withUsage: boolean) =>
    FILTER_CHUNK +
    chunk({ choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null, content_filter_results: {} }], ...(withUsage ? { usage: null } : {}) }) +
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...(withUsage ? { usage: null } : {}) }) +
    (withUsage ? chunk({ choices: [], usage: AZURE_USAGE }) : '') +
    'data: [DONE]\n\n';

  it('the first chunk is neither the model nor the usage; the usage chunk is', () => {
    const meter = streamMeter('chat');
    const stripper = new UsageStripper(meter);
    const out = Buffer.concat([...stripper.push(Buffer.from(stream(true)))]).toString();
    const outcome = meter.outcome('complete');
    expect(outcome).toMatchObject({ model: 'gpt-4o-2024-08-06', usage: { input_tokens: 2000, output_tokens: 600, input_token_details: { cache_read: 1500 }, output_token_details: { reasoning: 500 } } });
    expect(outcome.failure).toBeUndefined();
    // Usage asked for on the program's behalf is taken back out; Azure's first chunk stays, byte for byte.
    expect(out).toBe(stream(false));
    expect(out.startsWith(FILTER_CHUNK)).toBe(true);
  });

  it('without usage, the text is counted and the model is the one the chunks named', () => {
    const meter = streamMeter('chat');
    for (const line of stream(false).split('\n\n').filter(Boolean)) meter.data(line === 'data: [DONE]' ? Symbol.for('none') : JSON.parse(line.slice(6)));
    expect(meter.outcome('complete')).toMatchObject({ model: 'gpt-4o-2024-08-06', usage: null, text: ['Hi'] });
  });
});

describe('what an Azure call costs: computed by hand from pricing.json\'s azure figures', () => {
  // The price table as shipped, read directly: the test's own arithmetic, not the code's lookup.
  const raw = JSON.parse(readFileSync(new URL('../pricing.json', import.meta.url), 'utf8')) as { providers: { id: string; fallback_model_providers?: string[]; models: { id: string; prices: Record<string, number> }[] }[] };
  const provider = (id: string) => raw.providers.find((p) => p.id === id);
  const prices = (providerId: string, modelId: string) => provider(providerId)?.models.find((m) => m.id === modelId)?.prices as Record<string, number>;

  const azureBody = (model: string) =>
    JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Day 1: Kyoto.' }, finish_reason: 'stop', content_filter_results: {} }],
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
      usage: AZURE_USAGE,
    });
  const call = (deployment: string, replyModel: string) =>
    recordOf(
      { provider: 'azure', api: 'chat', model: deployment, prompt: 'Plan a trip', stream: false, streamUsage: false, apiKey: KEY },
      bodyOutcome('chat', 200, azureBody(replyModel), 'complete'),
      5,
      table,
    );

  it('o1 on Azure: 2000 prompt tokens of which 1500 cached, 600 completion of which 500 reasoning', async () => {
    const p = prices('azure', 'o1');
    // Azure's o1 entry prices cache reads, and has no reasoning price: reasoning bills as output.
    expect(p).toMatchObject({ input_mtok: 15, cache_read_mtok: 7.5, output_mtok: 60 });
    expect(p['output_reasoning_mtok']).toBeUndefined();
    const byHand = ((2000 - 1500) * p['input_mtok']! + 1500 * p['cache_read_mtok']! + 600 * p['output_mtok']!) / 1e6;
    const r = await call('reasoner', 'o1-2024-12-17');
    expect(r).toMatchObject({ provider: 'azure', model: 'o1-2024-12-17', requested_model: 'reasoner', priced_as: 'azure/o1', priced_by: 'model', usage_source: 'reported' });
    expect(r.usage).toMatchObject({ input_tokens: 2000, output_tokens: 600, total_tokens: 2600, input_token_details: { cache_read: 1500 }, output_token_details: { reasoning: 500 } });
    expect(r.cost_usd).toBe(Number(byHand.toPrecision(12)));
    expect(r.cost_usd).toBeCloseTo(0.05475, 15);
  });

  it('gpt-4o on Azure: azure has no entry of its own, so its fallback to openai\'s prices', async () => {
    expect(provider('azure')?.fallback_model_providers?.[0]).toBe('openai');
    expect(provider('azure')?.models.some((m) => m.id === 'gpt-4o')).toBe(false);
    const p = prices('openai', 'gpt-4o');
    const byHand = (500 * p['input_mtok']! + 1500 * p['cache_read_mtok']! + 600 * p['output_mtok']!) / 1e6;
    const r = await call('my-gpt4o', 'gpt-4o-2024-08-06');
    expect(r).toMatchObject({ priced_as: 'openai/gpt-4o', priced_by: 'model' });
    expect(r.cost_usd).toBe(Number(byHand.toPrecision(12)));
    expect(r.cost_usd).toBeCloseTo((500 * 2.5 + 1500 * 1.25 + 600 * 10) / 1e6, 15);
  });

  it('a reply model azure does not know falls back to the deployment\'s name, and says so; neither known is unpriced, never $0', async () => {
    const byName = await call('gpt-4o', 'my-finetune-v7');
    expect(byName).toMatchObject({ model: 'my-finetune-v7', priced_as: 'openai/gpt-4o', priced_by: 'deployment' });
    const unknown = await call('prod-chat', 'my-finetune-v7');
    expect(unknown).toMatchObject({ cost_usd: null, priced_as: null, cost_note: 'no azure price for deployment "prod-chat" (its reply named "my-finetune-v7"; add the model with --pricing FILE)' });
    expect(unknown.priced_by).toBeUndefined();
    // A reply with model "" names none: the deployment's name is all there is.
    expect(await call('prod-chat', '')).toMatchObject({ model: 'prod-chat', cost_usd: null, cost_note: 'no azure price for deployment "prod-chat" (its reply named no model; add the model with --pricing FILE)' });
    // Regression: a reply that names the deployment's own name did name a model.
    expect((await call('prod-chat', 'prod-chat')).cost_note).toBe('no azure price for deployment "prod-chat" (its reply named "prod-chat"; add the model with --pricing FILE)');
    expect(await call('o1', '')).toMatchObject({ model: 'o1', priced_as: 'azure/o1', priced_by: 'deployment' });
    // A model only another cloud prices (Bedrock's Nova) has no Azure price, whatever the table's order.
    expect((await call('nova', 'amazon.nova-pro-v1:0')).cost_usd).toBeNull();

    const summary = renderSummary(tallyOf([await call('reasoner', 'o1-2024-12-17'), byName, unknown]), false);
    expect(summary).toContain('azure deployment reasoner: priced as azure/o1, by the model its reply named (o1-2024-12-17)\n');
    expect(summary).toContain("azure deployment gpt-4o: priced as openai/gpt-4o (azure falls back to openai's prices), by the deployment's name (its reply named my-finetune-v7, which has no azure price)\n");
    expect(summary).toContain('cost unknown: no azure price for deployment "prod-chat"');
    expect(summary).toMatch(/Total Cost \(USD\)\s+│ \$[\d.]+ \+ unknown/);
  });

  it('Azure\'s gpt-4o and OpenAI\'s gpt-4o, at the same rates, are rows of their own', async () => {
    const openai = await recordOf(
      { provider: 'openai', api: 'chat', model: 'gpt-4o', prompt: 'hi', stream: false, streamUsage: false, apiKey: 'sk-x' },
      bodyOutcome('chat', 200, azureBody('gpt-4o-2024-08-06'), 'complete'),
      5,
      table,
    );
    const t = tallyOf([openai, await call('my-gpt4o', 'gpt-4o-2024-08-06'), await call('reasoner', 'o1-2024-12-17')]);
    expect(t.by_model.map((m) => [m.provider ?? null, m.priced_as, m.requests])).toEqual([
      [null, 'openai/gpt-4o', 1],
      ['azure', 'openai/gpt-4o', 1],
      [null, 'azure/o1', 1],
    ]);
    const rows = renderSummary(t, false).split('\n').filter((l) => /gpt-4o|o1/.test(l) && l.startsWith('│ '));
    expect(rows.map((l) => l.split('│')[1]?.trim())).toEqual(['openai/gpt-4o', 'azure: openai/gpt-4o', 'azure/o1']);
  });
});

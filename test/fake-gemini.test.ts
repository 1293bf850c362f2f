// The fake's Gemini half (test/support/fake-gemini.mjs), over raw HTTP: the key in the header or
// the query, Google's refusals and error format, both stream forms with cumulative usageMetadata.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProvider } from './support/fake-provider.mjs';

const KEY = 'AIzaSyDfakeGEMINIkey0123456789abcdefghi';
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ geminiKeys: { apiKey: KEY } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
const post = (path: string, headers: Record<string, string> = { 'x-goog-api-key': KEY }) =>
  fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the fake Gemini API', () => {
  it('takes the key in x-goog-api-key or ?key=; refuses none (403) and a wrong one (400) in Google\'s format', async () => {
    expect((await post('/v1beta/models/gemini-2.5-flash:generateContent')).status).toBe(200);
    expect((await post(`/v1/models/gemini-2.5-flash:generateContent?key=${KEY}`, {})).status).toBe(200);
    const none = await post('/v1beta/models/gemini-2.5-flash:generateContent', {});
    expect(none.status).toBe(403);
    expect((await none.json()).error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    const wrong = await post('/v1beta/models/gemini-2.5-flash:generateContent', { 'x-goog-api-key': 'AIzaWRONG' });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.', details: [{ reason: 'API_KEY_INVALID' }] });
    fake.queue({ status: 429 });
    const limited = await post('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(limited.status).toBe(429);
    expect((await limited.json()).error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
  });

  it('generateContent: candidates, usageMetadata (thoughts beside the candidates, cached inside the prompt), modelVersion', async () => {
    fake.queue({ usage: { input: 100, cached: 40, output: 30, reasoning: 10, toolUse: 5 } });
    const json = await (await post('/v1beta/models/gemini-2.5-pro:generateContent')).json();
    expect(json.candidates[0]).toMatchObject({ finishReason: 'STOP', index: 0, content: { role: 'model' } });
    expect(json.usageMetadata).toMatchObject({ promptTokenCount: 95, cachedContentTokenCount: 40, toolUsePromptTokenCount: 5, candidatesTokenCount: 20, thoughtsTokenCount: 10, totalTokenCount: 130 });
    expect(json.modelVersion).toBe('gemini-2.5-pro');
  });

  it('streamGenerateContent?alt=sse: data events ending \\r\\n\\r\\n, running counts, the final ones and finishReason last', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const res = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\r\n\r\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')));
    expect(events.length).toBeGreaterThan(2);
    const counts = events.map((e) => e.usageMetadata.candidatesTokenCount);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 16, totalTokenCount: 27 }, candidates: [{ finishReason: 'STOP' }] });
    expect(events.slice(0, -1).every((e) => e.candidates[0].finishReason === undefined)).toBe(true);
  });

  it('streamGenerateContent without alt=sse: one JSON array of the same chunks; an error chunk ends it', async () => {
    fake.queue({ usage: { input: 11, output: 16 } });
    const res = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const chunks = await res.json();
    expect(Array.isArray(chunks)).toBe(true);
    expect(chunks.at(-1).usageMetadata).toMatchObject({ promptTokenCount: 11, candidatesTokenCount: 16 });

    fake.queue({ errorEvent: 2 });
    const failed = await (await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent')).json();
    expect(failed).toHaveLength(3);
    expect(failed[2].error).toMatchObject({ code: 500, status: 'INTERNAL' });
  });

  it('the OpenAI-compatible endpoint takes the key as a bearer', async () => {
    const res = await fetch(`${fake.url}/v1beta/openai/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(200);
    expect((await res.json()).model).toBe('gemini-2.5-flash');
  });
});

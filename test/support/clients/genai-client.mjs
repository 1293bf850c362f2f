#!/usr/bin/env node
// A program that calls Gemini through the official @google/genai SDK, configured only by the
// environment (GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL), as most programs are. Writes what the SDK
// handed it, and every response body's exact bytes, to OUT_FILE as JSON.
//   node genai-client.mjs OUT_FILE [CALL ...]
// Calls: generate, stream (SSE, alt=sse), array-stream (plain HTTP: the JSON-array stream form,
// the key in ?key=), compat (the OpenAI-compatible endpoint, with fetch), models (a GET, unmetered).
import { writeFileSync } from 'node:fs';
import { GoogleGenAI } from '@google/genai';

const [outFile, ...names] = process.argv.slice(2);
const calls = names.length ? names : ['generate', 'stream', 'array-stream'];

// Every body as it arrived, before the SDK parsed it.
const bodies = [];
const recordingFetch = async (url, init) => {
  const response = await fetch(url, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  bodies.push({ path: new URL(String(url)).pathname, status: response.status, body: bytes.toString('base64') });
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
};

const ai = new GoogleGenAI({ httpOptions: { fetch: recordingFetch } });
const base = process.env.GOOGLE_GEMINI_BASE_URL ?? 'https://generativelanguage.googleapis.com';
const key = process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
const contents = 'Tell me a joke';
const all = async (stream) => {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
};

const PLANS = {
  generate: () => ai.models.generateContent({ model: 'gemini-2.5-flash', contents, config: { systemInstruction: 'Be brief.' } }),
  stream: async () => all(await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents })),
  'array-stream': async () => {
    const res = await recordingFetch(`${base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=${encodeURIComponent(key)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: contents }] }] }),
    });
    return res.json();
  },
  compat: async () => {
    const res = await recordingFetch(`${base}/v1beta/openai/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: contents }] }),
    });
    return res.json();
  },
};

const got = [];
for (const name of calls) {
  const plan = PLANS[name];
  if (!plan) throw new Error(`unknown call ${name}`);
  got.push([name, await plan()]);
}
writeFileSync(outFile, JSON.stringify({ got, bodies }));
process.stdout.write(`genai-client: ${got.length} call${got.length === 1 ? '' : 's'}\n`);

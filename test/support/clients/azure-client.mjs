#!/usr/bin/env node
// A program that calls Azure OpenAI through the official `AzureOpenAI` client (the `openai`
// package), configured only by the environment, as most programs are: AZURE_OPENAI_ENDPOINT,
// AZURE_OPENAI_API_KEY, OPENAI_API_VERSION. With `--endpoint` it passes the endpoint itself
// (`new AzureOpenAI({ endpoint })`), which the client refuses when OPENAI_BASE_URL is set too.
// Writes what the SDK handed it, and every response body's exact bytes, to OUT_FILE as JSON.
//   node azure-client.mjs OUT_FILE [--endpoint] [CALL ...]
// Calls: chat, chat-stream, chat-stream-usage, completion, completion-stream, embeddings.
import { writeFileSync } from 'node:fs';
import { AzureOpenAI } from 'openai';

const [outFile, ...rest] = process.argv.slice(2);
const explicit = rest[0] === '--endpoint';
const names = explicit ? rest.slice(1) : rest;
const calls = names.length ? names : ['chat', 'chat-stream', 'chat-stream-usage', 'completion', 'completion-stream', 'embeddings'];

// Every body as it arrived, before the SDK parsed it.
const bodies = [];
const recordingFetch = async (url, init) => {
  const response = await fetch(url, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  bodies.push({ path: new URL(String(url)).pathname, status: response.status, body: bytes.toString('base64') });
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
};

// No retries: every attempt would be a call of its own.
const client = new AzureOpenAI({ maxRetries: 0, fetch: recordingFetch, ...(explicit ? { endpoint: process.env.AZURE_OPENAI_ENDPOINT } : {}) });
const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me a joke' }];
const all = async (stream) => {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
};

const PLANS = {
  chat: () => client.chat.completions.create({ model: 'my-gpt4o', messages }),
  'chat-stream': async () => all(await client.chat.completions.create({ model: 'my-gpt4o', messages, stream: true })),
  'chat-stream-usage': async () => all(await client.chat.completions.create({ model: 'my-gpt4o', messages, stream: true, stream_options: { include_usage: true } })),
  completion: () => client.completions.create({ model: 'my-instruct', prompt: 'Tell me a joke' }),
  'completion-stream': async () => all(await client.completions.create({ model: 'my-instruct', prompt: 'Tell me a joke', stream: true })),
  embeddings: () => client.embeddings.create({ model: 'my-embeddings', input: ['one', 'two'] }),
};

const got = [];
for (const name of calls) {
  const plan = PLANS[name];
  if (!plan) throw new Error(`unknown call ${name}`);
  got.push([name, await plan()]);
}
writeFileSync(outFile, JSON.stringify({ got, bodies }));
process.stdout.write(`azure-client: ${got.length} call${got.length === 1 ? '' : 's'}\n`);

#!/usr/bin/env node
// A program that calls LLMs through the Vercel AI SDK (`ai` 6 with @ai-sdk/openai 3 and
// @ai-sdk/anthropic 3), configured only by the environment, as most such programs are. Writes
// what the SDK handed it to OUT_FILE as JSON: for generateText the text, usage, finish reason,
// provider metadata and the parsed response body; for streamText every part of fullStream,
// raw provider chunks included, then the same totals.
//   node ai-sdk-client.mjs OUT_FILE [CALL ...]
// Calls: openai-chat, openai-chat-stream (Chat Completions, via openai.chat(...)), openai,
// openai-stream (openai(...), which in @ai-sdk/openai 3 means the Responses API), anthropic,
// anthropic-stream. Default: all six.
//
// Base URLs: both providers read their variable themselves, so nothing is passed in code.
// @ai-sdk/openai reads OPENAI_BASE_URL (with /v1, like the openai SDK). @ai-sdk/anthropic reads
// ANTHROPIC_BASE_URL but, unlike the Anthropic SDK, posts to `${ANTHROPIC_BASE_URL}/messages`:
// it expects /v1 in the variable (its default is https://api.anthropic.com/v1).
import { writeFileSync } from 'node:fs';
import { anthropic } from '@ai-sdk/anthropic';
import { openai } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';

const [outFile, ...names] = process.argv.slice(2);
const ALL = ['openai-chat', 'openai-chat-stream', 'openai', 'openai-stream', 'anthropic', 'anthropic-stream'];
const calls = names.length ? names : ALL;

const MODELS = {
  'openai-chat': () => openai.chat('gpt-4o-mini'),
  openai: () => openai('gpt-4o-mini'),
  anthropic: () => anthropic('claude-3-5-haiku-20241022'),
};
// No retries: every attempt would be a call of its own. maxOutputTokens is set because
// @ai-sdk/anthropic 3.0 no longer knows claude-3-5-haiku: without it, it would cap the reply at
// 4096 tokens and print an "AI SDK Warning" on stderr, where the tests want nothing.
const request = { prompt: 'Tell me a joke', maxOutputTokens: 100, maxRetries: 0 };

// Headers of the connection and its framing, which a proxy may rightly change; the others
// (content type, request id, rate limits...) are the API's, and stay.
const TRANSPORT = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);
/** A response as the SDK reports it, minus the transport's headers. */
const response = (r) => r && { ...r, headers: r.headers && Object.fromEntries(Object.entries(r.headers).filter(([name]) => !TRANSPORT.has(name))) };

async function generate(model) {
  const r = await generateText({ model, ...request });
  return {
    text: r.text,
    content: r.content,
    finishReason: r.finishReason,
    usage: r.usage,
    totalUsage: r.totalUsage,
    providerMetadata: r.providerMetadata,
    warnings: r.warnings,
    response: response(r.response),
  };
}

async function stream(model) {
  let error;
  const r = streamText({ model, ...request, includeRawChunks: true, onError: ({ error: e }) => (error = e) });
  const parts = [];
  for await (const part of r.fullStream) parts.push(part.type === 'finish-step' ? { ...part, response: response(part.response) } : part);
  if (error) throw error;
  return {
    parts,
    text: await r.text,
    finishReason: await r.finishReason,
    usage: await r.usage,
    totalUsage: await r.totalUsage,
    providerMetadata: await r.providerMetadata,
    response: response(await r.response),
  };
}

const got = [];
for (const name of calls) {
  const streaming = name.endsWith('-stream');
  const model = MODELS[streaming ? name.slice(0, -'-stream'.length) : name];
  if (!model) throw new Error(`unknown call ${name}`);
  got.push([name, await (streaming ? stream : generate)(model())]);
}
writeFileSync(outFile, JSON.stringify(got));
process.stdout.write(`ai-sdk-client: ${got.length} call${got.length === 1 ? '' : 's'}\n`);

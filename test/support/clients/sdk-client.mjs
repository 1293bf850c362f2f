#!/usr/bin/env node
// A program that calls LLM APIs through the official SDKs, configured only by the environment
// (OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL), as most programs
// are. Writes what the SDKs handed it (results, stream chunks and events) to OUT_FILE as JSON.
//   node sdk-client.mjs OUT_FILE
import { writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const outFile = process.argv[2];
// No retries: every attempt would be a call of its own.
const openai = new OpenAI({ maxRetries: 0 });
const anthropic = new Anthropic({ maxRetries: 0 });
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const all = async (stream) => {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
};

const got = [];
got.push(['chat', await openai.chat.completions.create({ model: 'gpt-3.5-turbo-0125', messages })]);
got.push(['chat-stream', await all(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }))]);
got.push(['completion-stream', await all(await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Tell me a joke', stream: true }))]);
got.push(['responses-stream', await all(await openai.responses.create({ model: 'gpt-4o-mini', input: 'Tell me a joke', stream: true }))]);
got.push(['embeddings', await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] })]);
got.push(['messages', await anthropic.messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 100, messages })]);
got.push(['messages-stream', await all(await anthropic.messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 100, messages, stream: true }))]);
writeFileSync(outFile, JSON.stringify(got));
process.stdout.write(`sdk-client: ${got.length} calls\n`);

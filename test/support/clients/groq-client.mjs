#!/usr/bin/env node
// A program that calls Groq through its official SDK (groq-sdk), configured only by the
// environment, as most programs are: GROQ_API_KEY, and GROQ_BASE_URL when set. With WITH_DEEPSEEK
// set, also one call through the `openai` package to DeepSeek on the proxy's /deepseek/v1 prefix,
// as programs that use the openai SDK for other providers do.
// Writes what the SDKs handed it to OUT_FILE as JSON.
//   node groq-client.mjs OUT_FILE
import { writeFileSync } from 'node:fs';
import Groq from 'groq-sdk';
import OpenAI from 'openai';

const [outFile] = process.argv.slice(2);
const groq = new Groq({ maxRetries: 0 });
const messages = [{ role: 'user', content: 'Tell me a joke' }];
const out = {};
out.chat = await groq.chat.completions.create({ model: 'llama-3.1-8b-instant', messages });
const chunks = [];
for await (const chunk of await groq.chat.completions.create({ model: 'llama-3.1-8b-instant', messages, stream: true })) chunks.push(chunk);
out.stream = chunks;
if (process.env.WITH_DEEPSEEK) {
  // Under exec, OPENAI_BASE_URL is the proxy's ORIGIN/v1: DeepSeek is served on ORIGIN/deepseek/v1.
  const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL.replace(/\/v1$/, '/deepseek/v1'), apiKey: process.env.DEEPSEEK_API_KEY, maxRetries: 0 });
  out.deepseek = await openai.chat.completions.create({ model: 'deepseek-v3.1-terminus', messages });
}
writeFileSync(outFile, JSON.stringify(out));

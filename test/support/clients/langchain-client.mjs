#!/usr/bin/env node
// A program that calls LLMs through LangChain JS (@langchain/openai's ChatOpenAI and
// @langchain/anthropic's ChatAnthropic), configured only by the environment. Writes what
// LangChain handed it to OUT_FILE as JSON: for invoke the message, for stream every chunk,
// each as id, content, usage_metadata and response_metadata (the fields a caller reads).
//   node langchain-client.mjs OUT_FILE [CALL ...]
// Calls: openai, openai-stream, anthropic, anthropic-stream, azure, azure-stream. Default: the
// first four.
//
// Base URLs: ChatOpenAI reads OPENAI_API_BASE, then OPENAI_BASE_URL; ChatAnthropic reads
// ANTHROPIC_API_URL, then ANTHROPIC_BASE_URL (without /v1: its Anthropic SDK adds it);
// AzureChatOpenAI reads AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, AZURE_OPENAI_API_VERSION and
// AZURE_OPENAI_API_DEPLOYMENT_NAME.
import { writeFileSync } from 'node:fs';

// LangSmith tracing, if the environment turns it on, would send every run to api.smith.langchain.com.
process.env.LANGSMITH_TRACING = 'false';
process.env.LANGCHAIN_TRACING_V2 = 'false';

const [outFile, ...names] = process.argv.slice(2);
const calls = names.length ? names : ['openai', 'openai-stream', 'anthropic', 'anthropic-stream'];

// No retries: every attempt would be a call of its own. Each package is loaded only when used
// (a second or so each), as the tests run one provider at a time.
const MODELS = {
  openai: async () => new (await import('@langchain/openai')).ChatOpenAI({ model: 'gpt-4o-mini', maxTokens: 100, maxRetries: 0 }),
  anthropic: async () => new (await import('@langchain/anthropic')).ChatAnthropic({ model: 'claude-3-5-haiku-20241022', maxTokens: 100, maxRetries: 0 }),
  azure: async () => new (await import('@langchain/openai')).AzureChatOpenAI({ maxTokens: 100, maxRetries: 0 }),
};
const prompt = [['human', 'Tell me a joke']];

const message = (m) => ({ id: m.id, content: m.content, usage_metadata: m.usage_metadata, response_metadata: m.response_metadata });

const got = [];
for (const name of calls) {
  const streaming = name.endsWith('-stream');
  const model = MODELS[streaming ? name.slice(0, -'-stream'.length) : name];
  if (!model) throw new Error(`unknown call ${name}`);
  if (!streaming) {
    got.push([name, message(await (await model()).invoke(prompt))]);
    continue;
  }
  const chunks = [];
  let whole;
  for await (const chunk of await (await model()).stream(prompt)) {
    chunks.push(message(chunk));
    whole = whole === undefined ? chunk : whole.concat(chunk);
  }
  got.push([name, { chunks, whole: whole && message(whole) }]);
}
writeFileSync(outFile, JSON.stringify(got));
process.stdout.write(`langchain-client: ${got.length} call${got.length === 1 ? '' : 's'}\n`);

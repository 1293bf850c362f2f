// The peer: @langchain/openai's ChatOpenAI consuming the same stream with usage on, writing
// the text to stdout as it arrives, as `llm-usage stream --usage` does.
import { ChatOpenAI } from '@langchain/openai';

const model = new ChatOpenAI({
  model: 'gpt-4o-mini',
  apiKey: 'sk-bench',
  configuration: { baseURL: process.env.OPENAI_BASE_URL },
  streamUsage: true,
  maxRetries: 0,
});
let usage;
for await (const chunk of await model.stream('Tell me a joke')) {
  if (typeof chunk.content === 'string' && chunk.content) process.stdout.write(chunk.content);
  if (chunk.usage_metadata) usage = chunk.usage_metadata;
}
process.stderr.write(`langchain usage: ${JSON.stringify(usage)}\n`);

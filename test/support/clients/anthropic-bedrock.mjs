// A program using AnthropicBedrock (@anthropic-ai/bedrock-sdk) as people do: region from
// AWS_REGION, base URL from ANTHROPIC_BEDROCK_BASE_URL, credentials from the AWS default chain.
// One message, one stream; writes what the SDK handed it.
// Usage: node anthropic-bedrock.mjs OUT.json
import { writeFileSync } from 'node:fs';
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';

const [out] = process.argv.slice(2);
const client = new AnthropicBedrock();
const request = { model: 'anthropic.claude-3-5-haiku-20241022-v1:0', max_tokens: 300, messages: [{ role: 'user', content: 'Tell me a joke' }] };
const message = await client.messages.create(request);
const stream = await client.messages.create({ ...request, stream: true });
const events = [];
for await (const event of stream) events.push(event);
writeFileSync(out, JSON.stringify([message, events], null, 1));

// A program using the AWS SDK for JavaScript v3's BedrockRuntimeClient as people do: region,
// endpoint (AWS_ENDPOINT_URL_BEDROCK_RUNTIME) and credentials from the environment, its default
// request handler (HTTP/2). Makes the four runtime calls and writes what the SDK handed it.
// Usage: node aws-sdk-bedrock.mjs OUT.json
import { writeFileSync } from 'node:fs';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';

const [out] = process.argv.slice(2);
const client = new BedrockRuntimeClient({});
const claude = 'anthropic.claude-3-haiku-20240307-v1:0';
const anthropicBody = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, messages: [{ role: 'user', content: 'Tell me a joke' }] });
const converse = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'Tell me a joke' }] }], inferenceConfig: { maxTokens: 200 } };
const text = (bytes) => Buffer.from(bytes).toString('utf8');

const results = [];
const invoke = await client.send(new InvokeModelCommand({ modelId: claude, contentType: 'application/json', accept: 'application/json', body: anthropicBody }));
results.push({ op: 'invoke', status: invoke.$metadata.httpStatusCode, body: text(invoke.body) });

const streamed = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: claude, contentType: 'application/json', body: anthropicBody }));
const chunks = [];
for await (const event of streamed.body) chunks.push(event.chunk ? JSON.parse(text(event.chunk.bytes)) : event);
results.push({ op: 'invoke-with-response-stream', events: chunks });

const conversed = await client.send(new ConverseCommand(converse));
results.push({ op: 'converse', output: conversed.output, usage: conversed.usage, stopReason: conversed.stopReason });

const conversing = await client.send(new ConverseStreamCommand(converse));
const events = [];
for await (const event of conversing.stream) events.push(event);
results.push({ op: 'converse-stream', events });

client.destroy();
writeFileSync(out, JSON.stringify(results, null, 1));

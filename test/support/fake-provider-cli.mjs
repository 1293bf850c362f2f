#!/usr/bin/env node
// Starts the fake LLM provider from the command line:
//   node test/support/fake-provider-cli.mjs [--port N] [--reply '<FakeReply JSON>']
// prints {"url":"http://127.0.0.1:PORT"} as one JSON line on stdout, then serves (with the
// default reply, or the one given) until killed.

import { parseArgs } from 'node:util';
import { startFakeProvider } from './fake-provider.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    reply: { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`fake-provider: invalid --port ${values.port}\n`);
  process.exit(2);
}

const fake = await startFakeProvider({
  port,
  defaultReply: values.reply ? JSON.parse(values.reply) : undefined,
});
process.stdout.write(JSON.stringify({ url: fake.url }) + '\n');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    fake.close().then(() => process.exit(0));
  });
}

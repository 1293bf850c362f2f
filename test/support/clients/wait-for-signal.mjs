#!/usr/bin/env node
// A program that makes one chat call, says "ready", then waits to be stopped. It reports each
// SIGINT or SIGTERM it gets on stdout and exits with 42 (SIGINT) or 43 (SIGTERM) shortly after,
// so a test can tell that the signal reached it, how often, and that its exit code came back.
import http from 'node:http';

await new Promise((resolve, reject) => {
  const req = http.request(`${process.env.OPENAI_BASE_URL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${process.env.OPENAI_API_KEY}`, 'content-type': 'application/json' },
  }, (res) => {
    res.resume();
    res.on('end', resolve);
  });
  req.on('error', reject);
  req.end(JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages: [{ role: 'user', content: 'hi' }] }));
});
for (const [signal, code] of [['SIGINT', 42], ['SIGTERM', 43]]) {
  process.on(signal, () => {
    process.stdout.write(`child: ${signal}\n`);
    setTimeout(() => process.exit(code), 100);
  });
}
// HANG=1: a second call is under way, its answer not yet come, when the signal arrives.
if (process.env.HANG === '1') {
  const req = http.request(`${process.env.OPENAI_BASE_URL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => res.resume());
  req.on('error', () => undefined);
  req.end(JSON.stringify({ model: 'gpt-3.5-turbo-0125', messages: [{ role: 'user', content: 'slow' }] }));
  await new Promise((r) => setTimeout(r, 200));
}
process.stdout.write('ready\n');
setInterval(() => {}, 1000);

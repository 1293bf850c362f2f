// The floor for bench/proxy.mjs: the least a reverse proxy on the proxy's own stack (node:http
// in, undici out) can do. One keep-alive undici Agent; each request's body is streamed to the
// upstream and the response streamed back (`dispatcher.stream` writes straight into the
// node:http response); nothing is parsed, rewritten or metered. What it costs is the stack,
// not llm-usage.
//   node bench/bare-proxy.mjs http://127.0.0.1:PORT
// prints {"url":"http://127.0.0.1:PORT"} (its own) on stdout, then serves until SIGTERM.
import http from 'node:http';
import { Agent } from 'undici';

const origin = new URL(process.argv[2] ?? '').origin;
const agent = new Agent(); // keep-alive, idle connections kept 4 s by default

// Hop-by-hop: they describe one connection, not the message (RFC 9110 §7.6.1). undici refuses
// most of them outright, and sets host from the origin.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect']);

/** The request's headers as undici takes them (a flat name, value list), hop-by-hop ones left out. */
function forwardedHeaders(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  return out;
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
  agent.stream(
    {
      origin,
      path: req.url,
      method: req.method,
      headers: forwardedHeaders(req.rawHeaders),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    },
    ({ statusCode, headers }) => {
      for (const name of HOP) delete headers[name];
      res.writeHead(statusCode, headers);
      // undici pipes the body into this, and aborts the upstream request if it is destroyed.
      return res;
    },
    (err) => {
      if (!err) return;
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`bare proxy: ${err.message}\n`);
    },
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
process.on('SIGTERM', () => process.exit(0));

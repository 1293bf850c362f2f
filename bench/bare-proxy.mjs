// The floor for bench/proxy.mjs: the least a node:http reverse proxy can do (pipe both ways,
// keep-alive upstream, no metering). What it costs is Node's HTTP stack, not llm-usage's.
import http from 'node:http';

const upstream = new URL(process.env.OPENAI_BASE_URL);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer({ noDelay: true }, (req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  const up = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`OPENAI_BASE_URL=http://127.0.0.1:${server.address().port}/v1\n`));
process.on('SIGTERM', () => process.exit(0));

// A load generator for bench/proxy.mjs, in the manner of wrk or autocannon: keep-alive sockets,
// each request's bytes built once, and only as much HTTP/1.1 parsing as it takes to know where
// a response ends (content-length or chunked). A node:http client spends more CPU per request
// than the fake provider it is measuring, and on a small machine that CPU is taken from the
// very processes under test; this one stays out of the way. It still checks every response:
// status 200, and a body whose framing ended exactly.
import net from 'node:net';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** The bytes of one POST, ready to write. */
export function requestBytes(origin, { path, headers, body }) {
  const url = new URL(origin);
  const lines = [`POST ${url.pathname.replace(/\/$/, '')}${path} HTTP/1.1`, `host: ${url.host}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** One keep-alive connection that sends one request at a time and resolves when its response has ended. */
class Connection {
  constructor(port) {
    this.port = port;
    this.buffer = null;
    this.pending = null;
    this.connect();
  }

  connect() {
    const socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    this.socket = socket;
    socket.on('data', (d) => this.data(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  send(bytes) {
    // A server closes a keep-alive connection left idle (node:http after 5 s): open another.
    if (this.socket.destroyed || this.socket.readableEnded) {
      this.socket.destroy();
      this.connect();
    }
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.state = 'head';
      this.buffer = null;
      this.socket.write(bytes);
    });
  }

  fail(error) {
    const p = this.pending;
    this.pending = null;
    p?.reject(error);
  }

  data(chunk) {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const b = this.buffer;
      if (this.state === 'head') {
        const end = b.indexOf(HEAD_END);
        if (end < 0) return;
        const head = b.toString('latin1', 0, end);
        const status = Number(head.slice(9, 12));
        if (status !== 200) return this.fail(new Error(`HTTP ${status}`));
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        this.buffer = b.subarray(end + 4);
        if (length) {
          this.state = 'body';
          this.remaining = Number(length[1]);
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) this.state = 'size';
        else return this.fail(new Error('response with neither content-length nor chunked'));
      } else if (this.state === 'body') {
        if (b.length < this.remaining) return;
        this.buffer = b.subarray(this.remaining);
        return this.done();
      } else if (this.state === 'size') {
        const eol = b.indexOf(CRLF);
        if (eol < 0) return;
        const size = parseInt(b.toString('latin1', 0, eol), 16);
        this.buffer = b.subarray(eol + 2);
        if (size === 0) this.state = 'trailer';
        else {
          this.state = 'chunk';
          this.remaining = size + 2;
        }
      } else if (this.state === 'chunk') {
        if (b.length < this.remaining) return;
        this.buffer = b.subarray(this.remaining);
        this.state = 'size';
      } else if (this.state === 'trailer') {
        const eol = b.indexOf(CRLF);
        if (eol < 0) return;
        this.buffer = b.subarray(eol + 2);
        if (eol === 0) return this.done();
      }
    }
  }

  done() {
    if (this.buffer.length) return this.fail(new Error(`${this.buffer.length} bytes after the response`));
    const p = this.pending;
    this.pending = null;
    this.state = 'idle';
    p?.resolve();
  }
}

/** A pool of `size` keep-alive connections to 127.0.0.1:port. */
export function rawPool(port, size) {
  const connections = Array.from({ length: size }, () => new Connection(port));
  return {
    connections,
    close: () => connections.forEach((c) => c.socket.destroy()),
  };
}

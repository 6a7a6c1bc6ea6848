import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Exchange } from './exchange.js';

export interface LeanGetOptions {
  host: string;
  port: number;
  /** Deadline for one whole GET: waiting for a socket, connecting, sending, reading. */
  timeoutMs: number;
  /** Kept-alive sockets at most; further GETs wait for one to come free. */
  connections: number;
  /** Sent on every GET, e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string> | undefined;
}

export interface LeanGetClient {
  get(path: string, headers?: Record<string, string>): Promise<Exchange>;
  close(): Promise<void>;
}

/** A status line and headers larger than this are not a cache node's answer. */
const HEAD_MAX = 16 * 1024;
/** Bodies above this are taken as they arrive, never on a header's word (as in exchange.ts). */
const BODY_MAX = 16 * 1024 * 1024;
/**
 * Where a socket reads the start of an answer: its head (a few hundred bytes from a cache
 * node) and the first bytes of the body. Kept small because those body bytes are copied
 * out; the rest of the body is read straight into the answer's own Buffer.
 */
const HEAD_READ_SIZE = 4 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

/** The GET waiting on a socket's answer, and what has been read of it so far. */
interface Pending {
  resolve(answer: Exchange): void;
  reject(error: Error): void;
  /** Head bytes split across reads (rare: a cache node's head is a few hundred bytes). */
  head: Buffer | undefined;
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
  length: number;
  keepAlive: boolean;
  /** Something came back on this socket: a failure from here on is not a stale kept-alive socket. */
  answered: boolean;
}

interface Connection {
  socket: Socket;
  pending: Pending | undefined;
  reused: boolean;
}

/**
 * GETs of one cache node over plain HTTP/1.1 keep-alive sockets, one in flight per socket.
 *
 * The hot path of a remote cache hit. undici hands each socket read to its wasm parser
 * (a copy), then the body out in views that are copied once more. Here Node reads the start
 * of an answer into a small buffer this client owns (`onread`), the head is parsed in JS, and
 * once the Content-Length is known the kernel reads the rest of the body straight into a
 * Buffer of that length: no copy in this process. Only what a cache node sends is
 * understood: a body framed by Content-Length (none for 304); anything else fails the GET.
 */
export function createLeanGetClient({ host, port, timeoutMs, connections, headers: fixed }: LeanGetOptions): LeanGetClient {
  // Shared by every socket: a read is handled (copied out) before the next read of any socket runs.
  const headBuffer = Buffer.allocUnsafe(HEAD_READ_SIZE);
  const idle: Connection[] = [];
  const waiting: Array<(connection: Connection | Error) => void> = [];
  const open = new Set<Connection>();
  let closed = false;
  const fixedLines = Object.entries(fixed ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const hostLine = `host: ${host.includes(':') ? `[${host}]` : host}:${port}\r\n`;

  function newConnection(): Connection {
    const connection: Connection = { socket: undefined as unknown as Socket, pending: undefined, reused: false };
    connection.socket = connect({
      host,
      port,
      noDelay: true,
      keepAlive: true,
      onread: {
        // Asked again after every read: the rest of a body under way, else the head buffer.
        buffer: () => {
          const pending = connection.pending;
          return pending?.body && pending.length < pending.body.length ? pending.body.subarray(pending.length) : headBuffer;
        },
        callback: (nread: number, buffer: Uint8Array) => {
          receive(connection, buffer as Buffer, nread);
          return true;
        },
      },
    });
    connection.socket.on('error', (error) => drop(connection, error));
    connection.socket.on('end', () => drop(connection, new Error('the cache node closed the connection')));
    connection.socket.on('close', () => drop(connection, new Error('the connection closed')));
    open.add(connection);
    return connection;
  }

  /** The socket is done: its GET (if any) fails, and it leaves the pool for good. */
  function drop(connection: Connection, error: Error): void {
    if (!open.delete(connection)) return;
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    connection.socket.destroy();
    const pending = connection.pending;
    connection.pending = undefined;
    pending?.reject(Object.assign(error, { staleSocket: connection.reused && !pending.answered }));
    // A socket slot came free: someone waiting gets a fresh connection.
    const next = waiting.shift();
    if (next) next(closed ? new Error('client closed') : newConnection());
  }

  function release(connection: Connection): void {
    const next = waiting.shift();
    connection.reused = true;
    if (next) next(connection);
    else idle.push(connection);
  }

  function acquire(): Connection | Promise<Connection | Error> {
    const reused = idle.pop();
    if (reused) return reused;
    if (open.size < connections) return newConnection();
    return new Promise((resolve) => waiting.push(resolve));
  }

  function receive(connection: Connection, buffer: Buffer, nread: number): void {
    const pending = connection.pending;
    // Bytes nobody asked for: the stream is out of step, so the socket is not used again.
    if (!pending) return drop(connection, new Error('unexpected bytes on an idle connection'));
    pending.answered = true;
    if (buffer !== headBuffer) {
      // Read straight into the body, never past its end (see `onread` above).
      pending.length += nread;
      if (pending.length === pending.body!.length) finish(connection, pending, false);
      return;
    }
    let at = 0;
    if (pending.body === undefined) {
      const chunk = pending.head ? Buffer.concat([pending.head, buffer.subarray(0, nread)]) : buffer.subarray(0, nread);
      const end = chunk.indexOf(HEAD_END);
      if (end < 0) {
        if (chunk.length > HEAD_MAX) return drop(connection, new Error(`answer head longer than ${HEAD_MAX} bytes`));
        pending.head = Buffer.from(chunk); // a copy: the read buffer is reused
        return;
      }
      const problem = parseHead(pending, chunk.toString('latin1', 0, end));
      if (problem) return drop(connection, new Error(problem));
      // Where the body starts within this read.
      at = end + HEAD_END.length - (pending.head ? pending.head.length : 0);
      pending.head = undefined;
    }
    const body = pending.body!;
    const take = Math.min(nread - at, body.length - pending.length);
    buffer.copy(body, pending.length, at, at + take);
    pending.length += take;
    if (pending.length < body.length) return;
    // Bytes past the Content-Length are never part of the answer, and the socket is not reused.
    finish(connection, pending, at + take < nread);
  }

  function finish(connection: Connection, pending: Pending, outOfStep: boolean): void {
    connection.pending = undefined;
    const { statusCode, headers, keepAlive, body } = pending;
    if (outOfStep || !keepAlive) {
      open.delete(connection);
      connection.socket.destroy();
      const next = waiting.shift();
      if (next) next(closed ? new Error('client closed') : newConnection());
    } else release(connection);
    pending.resolve({ statusCode, headers, body: body! });
  }

  function send(connection: Connection, request: string, deadline: Pending): void {
    connection.pending = deadline;
    connection.socket.write(request);
  }

  async function once(request: string, timer: { expired: Error | undefined; connection?: Connection }): Promise<Exchange> {
    const acquired = await acquire();
    if (acquired instanceof Error) throw acquired;
    if (timer.expired) {
      release(acquired);
      throw timer.expired;
    }
    timer.connection = acquired;
    return new Promise<Exchange>((resolve, reject) => {
      const pending: Pending = { resolve, reject, head: undefined, statusCode: 0, headers: {}, body: undefined, length: 0, keepAlive: true, answered: false };
      send(acquired, request, pending);
    });
  }

  async function attempt(request: string, timer: { expired: Error | undefined; connection?: Connection }): Promise<Exchange> {
    try {
      return await once(request, timer);
    } catch (error) {
      // A kept-alive socket the node closed just as this GET went out: a GET may be sent again, once.
      if ((error as { staleSocket?: boolean }).staleSocket && !timer.expired) return once(request, timer);
      throw error;
    }
  }

  return {
    get(path, headers) {
      if (closed) return Promise.reject(new Error('client closed'));
      let lines = '';
      if (headers) for (const name in headers) lines += `${name}: ${headers[name]}\r\n`;
      const request = `GET ${path} HTTP/1.1\r\n${hostLine}${fixedLines}${lines}\r\n`;
      const timer: { expired: Error | undefined; connection?: Connection } = { expired: undefined };
      return new Promise((resolve, reject) => {
        const clock = setTimeout(() => {
          timer.expired = new Error(`timed out after ${timeoutMs} ms`);
          // A socket part-way through an answer cannot carry another GET.
          if (timer.connection?.pending) drop(timer.connection, timer.expired);
          reject(timer.expired);
        }, timeoutMs);
        attempt(request, timer).then(
          (answer) => {
            clearTimeout(clock);
            resolve(answer);
          },
          (error: Error) => {
            clearTimeout(clock);
            reject(error);
          },
        );
      });
    },
    async close() {
      closed = true;
      for (const next of waiting.splice(0)) next(new Error('client closed'));
      for (const connection of [...open]) drop(connection, new Error('client closed'));
    },
  };
}

/** Fills in the status, headers and body Buffer; returns why the head is not acceptable, if it is not. */
function parseHead(pending: Pending, head: string): string | undefined {
  const lines = head.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
  if (!status) return `not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`;
  pending.statusCode = Number(status[2]);
  pending.keepAlive = status[1] === '1';
  const headers: IncomingHttpHeaders = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line: ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, colon).trim().toLowerCase();
    // The first of a repeated header wins; a cache node repeats none.
    headers[name] ??= line.slice(colon + 1).trim();
  }
  pending.headers = headers;
  const connection = headers.connection;
  if (typeof connection === 'string') {
    const token = connection.toLowerCase();
    if (token === 'close') pending.keepAlive = false;
    else if (token === 'keep-alive') pending.keepAlive = true;
  }
  if (headers['transfer-encoding'] !== undefined) return 'a body framed by Transfer-Encoding, not Content-Length';
  const declared = headers['content-length'];
  const noBody = pending.statusCode === 304 || pending.statusCode === 204 || (pending.statusCode >= 100 && pending.statusCode < 200);
  if (noBody) {
    if (pending.statusCode < 200) return `interim answer ${pending.statusCode} to a GET`;
    pending.body = Buffer.alloc(0);
    return undefined;
  }
  if (typeof declared !== 'string' || !/^\d{1,9}$/.test(declared)) return 'an answer without a usable Content-Length';
  const length = Number(declared);
  if (length > BODY_MAX) return `an answer of ${length} bytes, above ${BODY_MAX}`;
  pending.body = Buffer.allocUnsafe(length);
  return undefined;
}

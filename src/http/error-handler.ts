import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error.js';
import { DATABASE_UNAVAILABLE_MESSAGE, databaseUnavailable } from './unavailable.js';

/** Seconds a client is asked to wait before retrying while the database is unreachable. */
const RETRY_AFTER_S = 5;

export function isApiRequest(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/');
}

/** The course's failure shape: success is the string "false", code the HTTP status. */
export function apiFailure(code: number, message: string) {
  return { success: 'false', error: { code, message } } as const;
}

function statusOf(error: FastifyError): number {
  const status = error.statusCode ?? 500;
  return status >= 400 && status <= 599 ? status : 500;
}

/**
 * Answers with our failure shape: JSON for the API and scripts, the error page for browsers
 * (on listeners that serve pages: a cache node has no templates and answers JSON to all).
 */
export async function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  reply.code(status);
  if (isApiRequest(request) || !request.headers.accept?.includes('text/html') || !request.server.hasDecorator('view')) {
    return reply.type('application/json').send(apiFailure(status, message));
  }
  const page = { title: `Error ${status}`, status, message };
  // Before routing (frameworkErrors) the reply lacks the view decorator; the server has it.
  if (typeof reply.viewAsync !== 'function') {
    return reply.type('text/html; charset=utf-8').send(await request.server.view('pages/error.hbs', page));
  }
  return reply.viewAsync('pages/error.hbs', page);
}

/** Prisma's messages open with a code frame; the last line says what happened. One line per failed request is enough. */
function briefly(error: FastifyError): { name: string; code?: string; message: string } {
  const lines = String(error.message ?? '').trim().split('\n');
  return { name: error.name, code: error.code, message: (lines.at(-1) ?? '').trim().slice(0, 300) };
}

/**
 * One error handler for every role: API callers get JSON, browsers a page; 5xx details
 * stay in the log. A database that cannot be reached is a 503 ("try again shortly").
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    // An outage, not a bug: a clear 503 the caller may retry; the driver's details stay in the log.
    const outage = databaseUnavailable(error);
    if (outage) {
      request.log.warn({ status: 503, reason: outage.reason, error: briefly(error) }, 'database unavailable');
      reply.header('retry-after', String(RETRY_AFTER_S));
      return sendError(request, reply, 503, DATABASE_UNAVAILABLE_MESSAGE);
    }
    const status = statusOf(error);
    // Our own errors carry messages meant for the user; anything else at 5xx is a fault whose details stay in the log.
    const expected = error instanceof AppError || status < 500;
    if (expected) request.log.info({ status, reason: error.message }, 'request rejected');
    else request.log.error({ err: error }, 'request failed');
    const message = expected ? error.message : 'internal error; the details are in the server log';
    return sendError(request, reply, status, message);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendError(request, reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

/**
 * Errors Fastify raises before routing (a malformed percent-encoding in the URL), in our
 * shape rather than Fastify's own.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void sendError(request, reply, statusOf(error) >= 500 ? 400 : statusOf(error), error.message);
}

/**
 * Requests Node's HTTP parser refuses (headers or URL too large, garbage) never reach
 * Fastify; answer them on the socket, in the API's failure shape.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 431 ? 'the request line or headers are too large' : 'malformed HTTP request';
  const body = JSON.stringify(apiFailure(status, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

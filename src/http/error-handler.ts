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

async function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  reply.code(status);
  if (isApiRequest(request) || !request.headers.accept?.includes('text/html')) {
    return reply.type('application/json').send(apiFailure(status, message));
  }
  return reply.viewAsync('pages/error.hbs', { title: `Error ${status}`, status, message });
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

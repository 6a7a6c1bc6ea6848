import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../http/app-error.js';

/** The domain's messages are lower-case clauses; a flash reads as a sentence. */
export function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * POST → redirect → GET: runs the action and leaves its message for the next page.
 * An AppError's message is meant for the operator, so it becomes an error flash;
 * anything else is a fault for the error handler.
 */
export async function flashAndRedirect(
  request: FastifyRequest,
  reply: FastifyReply,
  to: string,
  action: () => Promise<string>,
): Promise<FastifyReply> {
  try {
    request.session.flash = { kind: 'success', text: sentence(await action()) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    request.session.flash = { kind: 'error', text: sentence(err.message) };
  }
  return reply.redirect(to);
}

/**
 * Brings this process's routing up to the recorded membership before a page shows it.
 * A failure is shown on the page rather than failing it: the page is how the operator repairs the pool.
 */
export async function followPool(request: FastifyRequest): Promise<string | undefined> {
  try {
    await request.server.services.members.sync();
    return undefined;
  } catch (err) {
    request.log.warn({ err }, 'could not follow pool membership');
    return `This process could not follow the recorded pool membership: ${(err as Error).message}`;
  }
}

/** A page's successful answer; its errors go through the error handler as HTML too. */
export const htmlPage = { response: { 200: { type: 'string', description: 'HTML' } } } as const;

/** The CSRF token travels in the form body; declared so the schema documents it. */
export const csrfField = { _csrf: { type: 'string' } } as const;

/** A rate as a form shows it: a percentage with its sign, which the policy parsers read back unambiguously. */
export const formPercent = (rate: number) => `${+(rate * 100).toFixed(4)}%`;

export const mb = (bytes: number) => (bytes / 1048576).toFixed(2);
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

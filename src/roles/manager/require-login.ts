import type { onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../../http/app-error.js';

/** Pages need a logged-in admin: browsers go to the login page, scripts get a 401. */
export const requireLogin: onRequestAsyncHookHandler = async (request, reply) => {
  if (request.session.admin) return;
  if (request.method === 'GET' && request.headers.accept?.includes('text/html')) {
    return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
  }
  throw new AppError(401, 'log in to the console first');
};

/** The flash message left by the last redirect, consumed as it is shown. */
export function takeFlash(session: { flash?: { kind: string; text: string } }) {
  const flash = session.flash;
  delete session.flash;
  return flash;
}

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export const ADMIN_PASSWORD = 'correct horse battery';
export const consoleEnv = { EMC_ADMIN_PASSWORD: ADMIN_PASSWORD };

/** A browser-like client for the console: keeps the session cookie, reads CSRF tokens from pages. */
export class ConsoleClient {
  private readonly jar = new Map<string, string>();
  constructor(private readonly app: FastifyInstance) {}

  /** The session cookie and the login form's token cookie, as a browser would keep them. */
  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const set of res.cookies) {
      if (set.value === '' || (set.expires && set.expires.getTime() < Date.now())) this.jar.delete(set.name);
      else this.jar.set(set.name, set.value);
    }
    return res;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.remember(await this.app.inject({ url, headers: { accept: 'text/html', cookie: this.cookie } }));
  }

  /** The CSRF token of the form on `page`. */
  async csrf(page = '/dashboard'): Promise<string> {
    const body = (await this.get(page)).body;
    const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    if (!token) throw new Error(`no CSRF token on ${page}`);
    return token;
  }

  /** Posts a form; `_csrf: null` leaves the token out, otherwise it is fetched from `page`. */
  async post(url: string, fields: Record<string, string>, { csrfFrom = '/dashboard', withCsrf = true } = {}) {
    const form = new URLSearchParams(fields);
    if (withCsrf) form.set('_csrf', await this.csrf(csrfFrom));
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        payload: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: this.cookie },
      }),
    );
  }

  async login(password = ADMIN_PASSWORD): Promise<LightMyRequestResponse> {
    return this.post('/login', { password }, { csrfFrom: '/login' });
  }
}

/** A logged-in console client. */
export async function loggedIn(app: FastifyInstance): Promise<ConsoleClient> {
  const client = new ConsoleClient(app);
  const res = await client.login();
  if (res.statusCode !== 302) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return client;
}

// A browser-like client over real HTTP (fetch), with its own cookie jar, for the console.

export type Answer = { status: number; headers: Headers; body: string; setCookies: string[] };

export class HttpConsoleClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  private async send(path: string, init: RequestInit): Promise<Answer> {
    const res = await fetch(`${this.origin}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { accept: 'text/html', ...this.cookieHeader(), ...(init.headers as Record<string, string>) },
    });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
    return { status: res.status, headers: res.headers, body: await res.text(), setCookies };
  }

  get(path: string): Promise<Answer> {
    return this.send(path, { method: 'GET' });
  }

  /** The CSRF token of the form on `page`. */
  async csrf(page: string): Promise<string> {
    const { body, status } = await this.get(page);
    const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    if (!token) throw new Error(`no CSRF token on ${page} (${status})`);
    return token;
  }

  /** Posts a urlencoded form; `csrfFrom: null` leaves the token out. */
  async post(path: string, fields: Record<string, string>, { csrfFrom = '/dashboard' as string | null } = {}): Promise<Answer> {
    const form = new URLSearchParams(fields);
    if (csrfFrom !== null) form.set('_csrf', await this.csrf(csrfFrom));
    return this.send(path, {
      method: 'POST',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  login(password: string): Promise<Answer> {
    return this.post('/login', { password }, { csrfFrom: '/login' });
  }
}

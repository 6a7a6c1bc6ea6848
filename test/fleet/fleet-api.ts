// The JSON test API (SPEC §8) over real HTTP, as the course's client and a load balancer's
// users call it on any web or manager host.
import { uploadForm } from '../helpers/multipart.js';

export type ApiAnswer = { status: number; body: Record<string, unknown> };

async function answer(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { text } };
  }
}

export async function callApi(origin: string, path: string, { token, query = {} }: { token?: string; query?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${origin}/api/${path}${qs ? `?${qs}` : ''}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    // Resizes answer once applied: well under a load balancer's 60 s idle timeout (issue 12, item 4).
    signal: AbortSignal.timeout(60_000),
  });
  return answer(res);
}

export async function upload(origin: string, key: string, data: Buffer): Promise<ApiAnswer> {
  const { payload, headers } = uploadForm(key, data);
  return answer(await fetch(`${origin}/api/upload`, { method: 'POST', body: payload, headers, signal: AbortSignal.timeout(30_000) }));
}

/** The pool size a host reports (getNumNodes), or the failure as a string. */
export async function numNodesAt(origin: string): Promise<number | string> {
  try {
    const { status, body } = await callApi(origin, 'getNumNodes');
    return status === 200 ? Number(body.numNodes) : `HTTP ${status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

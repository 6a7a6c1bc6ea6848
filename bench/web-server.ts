// Starting a `role all` server for a benchmark and talking to its JSON API.
import { freePort, startServer, type Server } from './bench-processes.js';

export const ADMIN_TOKEN = 'bench-admin-token';

/**
 * A configured password and token keep the server from printing a generated password
 * and an "open API" warning into the benchmark's output.
 */
export const QUIET_ENV = { EMC_ADMIN_PASSWORD: 'bench-admin-password', EMC_ADMIN_TOKEN: ADMIN_TOKEN };

export type WebServer = { server: Server; base: string };

export async function startAllRole(name: string, env: Record<string, string>): Promise<WebServer> {
  const [web, manager] = await Promise.all([freePort(), freePort()]);
  const base = `http://127.0.0.1:${web}`;
  const server = await startServer(
    name,
    'src/cli.ts',
    ['start', '--role', 'all'],
    { ...QUIET_ENV, EMC_WEB_PORT: String(web), EMC_MANAGER_PORT: String(manager), ...env },
    `${base}/health`,
  );
  return { server, base };
}

/** POSTs to the JSON test API and returns its body; anything but success throws. */
export async function callApi(base: string, path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/api/${path}`, {
    method: 'POST',
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok || body.success !== 'true') throw new Error(`${path} failed: ${JSON.stringify(body)}`);
  return body;
}

export async function upload(base: string, key: string, bytes: Buffer): Promise<void> {
  const form = new FormData();
  form.set('key', key);
  form.set('file', new Blob([bytes]), 'bench.png');
  await callApi(base, 'upload', { body: form });
}

/** Uploads every key, a few at a time (the server, not this loop, should be the bottleneck). */
export async function uploadAll(base: string, keys: readonly string[], bytes: Buffer, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) await upload(base, keys[next++]!, bytes);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** A multipart/form-data body with the fields `key` and `file`, built once and sent many times. */
export function multipartUpload(key: string, bytes: Buffer): { body: Buffer; contentType: string } {
  const boundary = 'emc-bench-boundary-7d1f0c';
  const head =
    `--${boundary}\r\ncontent-disposition: form-data; name="key"\r\n\r\n${key}\r\n` +
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="bench.png"\r\ncontent-type: image/png\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

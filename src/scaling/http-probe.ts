import { get } from 'node:http';

/** Asks `url` once whether it answers 200; never rejects. */
export type HealthCheck = (url: string, timeoutMs: number) => Promise<boolean>;

/** One GET without keep-alive, so no idle socket to a node outlives the probe. */
export const probeHealth: HealthCheck = (url, timeoutMs) =>
  new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });

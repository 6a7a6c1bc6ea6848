import { setTimeout as sleep } from 'node:timers/promises';

/** A member is dropped only after this many failed health checks in a row, this far apart. */
const HEALTH_ATTEMPTS = 3;
const HEALTH_RETRY_MS = 250;

/** Dropping a member stops it (a node loses its cache): one probe lost to a busy moment is not enough. */
export async function isAlive(probe: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (await probe()) return true;
    } catch {
      // an in-process node of a process that is gone
    }
    if (attempt === HEALTH_ATTEMPTS) return false;
    await sleep(HEALTH_RETRY_MS);
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { ProvidedNode } from './node-provider.js';
import type { PoolMembers } from './pool-members.js';

/** A member is dropped only after this many failed health checks in a row, this far apart. */
const HEALTH_ATTEMPTS = 3;
const HEALTH_RETRY_MS = 250;

/** Dropping a member stops it and loses its cache: one probe lost to a busy moment is not enough. */
export async function isAlive(members: PoolMembers, member: ProvidedNode): Promise<boolean> {
  try {
    return await members.withClient(member, async (node) => {
      for (let attempt = 1; ; attempt++) {
        if (await node.health()) return true;
        if (attempt === HEALTH_ATTEMPTS) return false;
        await sleep(HEALTH_RETRY_MS);
      }
    });
  } catch {
    return false; // an in-process node of a process that is gone
  }
}

import { isIncorrectState, type Ec2Pool } from './ec2-instances.js';
import { pause, type Readiness } from './ec2-readiness.js';

type Transitions = Readiness & { pool: Pick<Ec2Pool, 'describe' | 'start' | 'stop'> };

/**
 * EC2 refuses StartInstances on a stopping instance and StopInstances on a pending one with
 * IncorrectInstanceState; both windows last from seconds to minutes. `act` is retried while
 * the instance is in `waitWhile`, and counts as done once it is in one of `done`.
 */
async function whenSettled(
  r: Transitions,
  instanceId: string,
  deadline: number,
  act: () => Promise<void>,
  { waitWhile, done }: { waitWhile: string; done: string[] },
): Promise<void> {
  for (;;) {
    try {
      return await act();
    } catch (err) {
      if (!isIncorrectState(err)) throw err;
      const state = (await r.pool.describe(instanceId))?.state ?? 'terminated';
      if (done.includes(state)) return;
      if (state !== waitWhile) throw err;
      await pause(r, deadline, `instance ${instanceId} was still ${waitWhile} after ${r.budgetMs} ms`);
    }
  }
}

/** Starts a stopped instance, waiting first for one that is still stopping (a shrink moments ago). */
export function startWhenStopped(r: Transitions, instanceId: string, deadline: number): Promise<void> {
  return whenSettled(r, instanceId, deadline, () => r.pool.start(instanceId), { waitWhile: 'stopping', done: ['pending', 'running'] });
}

/** Stops an instance, waiting first for one that is still pending (a start moments ago). */
export function stopWhenStarted(r: Transitions, instanceId: string, deadline: number): Promise<void> {
  return whenSettled(r, instanceId, deadline, () => r.pool.stop(instanceId), {
    waitWhile: 'pending',
    done: ['stopping', 'stopped', 'shutting-down', 'terminated'],
  });
}

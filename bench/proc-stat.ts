// What a process spent, read from /proc (perf counters are not available on these machines).
import { readFile } from 'node:fs/promises';

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every Linux that matters). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of one process (not of its children). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields start after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Bytes a process read and wrote through system calls (sockets included): rchar + wchar. */
export async function ioBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
  return field('rchar') + field('wchar');
}

/** The direct children of a process (a web process's cache-node children). */
export async function childrenOf(pid: number): Promise<number[]> {
  const list = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return list.trim().split(/\s+/).filter(Boolean).map(Number);
}

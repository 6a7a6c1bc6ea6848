// The container's HEALTHCHECK: asks each listener of the running role for GET /health.
// The role is read like `emc` reads it (`--role` on PID 1's command line, else EMC_ROLE,
// else all); the scaler serves no HTTP, so for it a running process is a healthy one.
import { readFileSync } from 'node:fs';

function runningRole() {
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const i = args.indexOf('--role');
    if (i >= 0 && args[i + 1]) return args[i + 1];
    const inline = args.find((a) => a.startsWith('--role='));
    if (inline) return inline.slice('--role='.length);
  } catch {
    // not Linux, or no /proc: fall back to the environment
  }
  return process.env.EMC_ROLE || 'all';
}

const env = process.env;
const web = Number(env.EMC_WEB_PORT || 5000);
const manager = Number(env.EMC_MANAGER_PORT || 5002);
const cache = Number(env.EMC_CACHE_PORT || 5001);
const portsOf = { web: [web], manager: [manager], cache: [cache], all: [web, manager], scaler: [] };

const role = runningRole();
const ports = portsOf[role];
if (!ports) {
  console.error(`unknown role ${role}`);
  process.exit(1);
}
let healthy = true;
for (const port of ports) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    healthy = false;
    console.error(`${role} on port ${port}: ${err instanceof Error ? err.message : err}`);
  }
}
process.exit(healthy ? 0 : 1);

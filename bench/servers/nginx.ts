// nginx serving the bench image from a file: the physical anchor (one process, sendfile).
// Its configuration lives in a temporary directory and it runs in the foreground as this
// benchmark's own process; the machine's nginx service is never touched.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchImage } from '../bench-image.js';

export const NGINX = '/usr/sbin/nginx';

export function nginxMissing(): string | undefined {
  return spawnSync(NGINX, ['-v']).error ? 'nginx not found (apt-get install -y nginx-light): its row is skipped' : undefined;
}

/** Writes the config and the image under `dir`; returns nginx's arguments. */
export async function nginxArgs(dir: string, port: number): Promise<string[]> {
  const root = join(dir, 'www');
  await mkdir(join(root, 'image'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  await writeFile(join(root, 'image', 'bench'), benchImage());
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  default_type image/png;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  return ['-p', dir, '-c', conf];
}

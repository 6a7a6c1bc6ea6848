// A bare Node two-hop proxy, the floor for any web tier in front of remote cache nodes:
// node:http in front, an undici pool of keep-alive connections to the origin behind,
// the answer streamed through unchanged. Arguments: <port> <origin URL>.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const origin = new Pool(process.argv[3]!, { connections: 64 });
const server = createServer((request, response) => {
  origin.request({ method: 'GET', path: request.url! }).then(
    ({ statusCode, headers, body }) => {
      const { 'content-type': type, 'content-length': length, etag } = headers as Record<string, string>;
      response.writeHead(statusCode, { 'content-type': type, 'content-length': length, etag });
      pipeline(body, response, () => {});
    },
    () => response.writeHead(502).end(),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void origin.close().then(() => process.exit(0))));

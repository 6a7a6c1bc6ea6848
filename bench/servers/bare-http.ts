// Bare node:http answering every request with the preloaded bench image.
import { createServer } from 'node:http';
import { benchImage } from '../bench-image.js';

const bytes = benchImage();
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length, etag: '"bare"' });
  response.end(bytes);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

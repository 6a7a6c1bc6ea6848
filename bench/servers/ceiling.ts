// The ceiling: a bare Fastify route returning a preloaded Buffer of the bench image.
import Fastify from 'fastify';
import { benchImage } from '../bench-image.js';

const app = Fastify({ logger: false });
const bytes = benchImage();
app.get('/image/*', async (_request, reply) => reply.type('image/png').header('etag', '"ceiling"').send(bytes));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));

import type { FastifyPluginAsync } from 'fastify';

/** Liveness for load balancers and the process supervisor. */
export const healthRoute: FastifyPluginAsync = async (app) => {
  app.get(
    '/health',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );
};

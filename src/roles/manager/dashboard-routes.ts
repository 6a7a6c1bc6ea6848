import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { DASHBOARD_MINUTES, DashboardDataSchema, toDashboardData, windowStart } from './dashboard-data.js';

// Resolved like an import, so a hoisted or nested node_modules is found all the same.
const chartJsDist = dirname(createRequire(import.meta.url).resolve('chart.js'));
const vendorFiles = new Set(['/chart.umd.js', '/chart.umd.js.map']);

const pageSchema = { response: { 200: { type: 'string', description: 'HTML' } } } as const;
const dataSchema = { response: { 200: DashboardDataSchema } } as const;

/** The console's dashboard: the page, the JSON its script polls, and Chart.js served from our own origin. */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: chartJsDist,
    prefix: '/vendor/chartjs/',
    decorateReply: false,
    allowedPath: (pathName) => vendorFiles.has(pathName),
  });

  app.get('/dashboard', { schema: pageSchema }, async (_request, reply) =>
    reply.viewAsync('pages/manager-dashboard.hbs', {
      title: 'Dashboard',
      nav: { dashboard: true },
      minutes: DASHBOARD_MINUTES,
      currentNodes: app.services.pool.nodes().length,
    }),
  );

  app.get('/dashboard/data.json', { schema: dataSchema }, async (_request, reply) => {
    const now = new Date();
    const points = await app.services.metrics.series(windowStart(now), DASHBOARD_MINUTES);
    // Polled every few seconds; a cached answer would freeze the charts.
    reply.header('cache-control', 'no-store');
    return toDashboardData(points, now, app.services.pool.nodes().length);
  });
};

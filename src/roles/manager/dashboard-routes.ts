import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { htmlPage } from './console-helpers.js';
import { DASHBOARD_MINUTES, DashboardDataSchema, toDashboardData, windowStart } from './dashboard-data.js';

// Resolved like an import, so a hoisted or nested node_modules is found all the same.
const chartJsDist = dirname(createRequire(import.meta.url).resolve('chart.js'));
const vendorFiles = new Set(['/chart.umd.js', '/chart.umd.js.map']);

const dataSchema = { response: { 200: DashboardDataSchema } } as const;

/**
 * The console's dashboard: the page, the JSON its script polls, and Chart.js served from our own
 * origin. The web pool's charts are shown only when there is a web pool.
 */
export const dashboardRoutes = ({ webPool }: { webPool: boolean }): FastifyPluginAsync => async (app) => {
  await app.register(fastifyStatic, {
    root: chartJsDist,
    prefix: '/vendor/chartjs/',
    decorateReply: false,
    allowedPath: (pathName) => vendorFiles.has(pathName),
  });

  app.get('/dashboard', { schema: htmlPage }, async (_request, reply) =>
    reply.viewAsync('pages/manager-dashboard.hbs', {
      title: 'Dashboard',
      nav: { dashboard: true },
      minutes: DASHBOARD_MINUTES,
      webPool,
      currentNodes: app.services.pool.nodes().length,
    }),
  );

  app.get('/dashboard/data.json', { schema: dataSchema }, async (_request, reply) => {
    const now = new Date();
    const from = windowStart(now);
    const [points, workers] = await Promise.all([
      app.services.metrics.series(from, DASHBOARD_MINUTES),
      webPool ? app.services.metrics.workerSeries(from, now) : [],
    ]);
    // Polled every few seconds; a cached answer would freeze the charts.
    reply.header('cache-control', 'no-store');
    return toDashboardData(points, workers, now, app.services.pool.nodes().length);
  });
};

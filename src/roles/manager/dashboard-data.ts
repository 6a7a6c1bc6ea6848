import type { MinutePoint, WorkerMinute } from '../../metrics/metrics-sink.js';
import { floorToMinute, MINUTE_MS } from '../../metrics/minute-series.js';

/** The window the console's charts show, one point a minute, the last point the current minute. */
export const DASHBOARD_MINUTES = 30;

const CACHE_SERIES = ['nodes', 'missRate', 'hitRate', 'items', 'bytes', 'requests'] as const;
/** The web pool on the dashboard: workers that reported in the minute (alive and serving), their average CPU. */
const WEB_SERIES = ['workers', 'cpu'] as const;
export const SERIES_NAMES = [...CACHE_SERIES, ...WEB_SERIES] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];

/** One worker's charts. */
export const WORKER_SERIES_NAMES = ['cpu', 'requests', 'bytesIn', 'bytesOut'] as const;
export type WorkerSeriesName = (typeof WORKER_SERIES_NAMES)[number];

/** What a chart page polls; a null value is a minute in which nothing reported, never an invented zero. */
export type MinuteCharts<Name extends string> = {
  generatedAt: string;
  /** Start of each minute, ISO 8601. */
  minutes: string[];
  /** The same minutes as HH:MM in the server's time zone (the page formats `minutes` in the viewer's). */
  labels: string[];
  series: Record<Name, (number | null)[]>;
};

/** What /dashboard/data.json answers. */
export type DashboardData = MinuteCharts<SeriesName> & {
  /** Nodes in the pool right now, which may differ from those that reported last minute. */
  currentNodes: number;
};

const nullableNumbers = { type: 'array', items: { type: ['number', 'null'] } } as const;

function chartsSchema<Name extends string>(names: readonly Name[]) {
  return {
    generatedAt: { type: 'string' },
    minutes: { type: 'array', items: { type: 'string' } },
    labels: { type: 'array', items: { type: 'string' } },
    series: {
      type: 'object',
      required: [...names],
      properties: Object.fromEntries(names.map((name) => [name, nullableNumbers])),
    },
  } as const;
}

export const DashboardDataSchema = {
  type: 'object',
  required: ['generatedAt', 'minutes', 'labels', 'currentNodes', 'series'],
  properties: { ...chartsSchema(SERIES_NAMES), currentNodes: { type: 'integer' } },
} as const;

export const WorkerChartsSchema = {
  type: 'object',
  required: ['generatedAt', 'minutes', 'labels', 'series'],
  properties: chartsSchema(WORKER_SERIES_NAMES),
} as const;

/** The first minute of the window that ends with the minute containing `now`. */
export function windowStart(now: Date): Date {
  return new Date(floorToMinute(now).getTime() - (DASHBOARD_MINUTES - 1) * MINUTE_MS);
}

const twoDigits = (n: number) => String(n).padStart(2, '0');
export const hhmm = (at: Date) => `${twoDigits(at.getHours())}:${twoDigits(at.getMinutes())}`;

/** A minute no worker reported in is a gap in every chart, the worker count's included. */
const workerValue = (point: WorkerMinute | undefined, name: 'workers' | WorkerSeriesName) =>
  !point || point.workers === 0 ? null : point[name];

/** The window's minutes, each with the point that starts in it, if any. */
function onMinutes<P extends { at: Date }>(points: readonly P[], start: Date): { at: Date; point: P | undefined }[] {
  const byMinute = new Map(points.map((p) => [floorToMinute(p.at).getTime(), p]));
  return Array.from({ length: DASHBOARD_MINUTES }, (_, i) => {
    const at = new Date(start.getTime() + i * MINUTE_MS);
    return { at, point: byMinute.get(at.getTime()) };
  });
}

function minuteCharts<Name extends string>(now: Date, minutes: Date[], series: Record<Name, (number | null)[]>): MinuteCharts<Name> {
  return { generatedAt: now.toISOString(), minutes: minutes.map((at) => at.toISOString()), labels: minutes.map(hhmm), series };
}

export function toDashboardData(points: readonly MinutePoint[], workers: readonly WorkerMinute[], now: Date, currentNodes: number): DashboardData {
  const web = onMinutes(workers, windowStart(now));
  const series = {
    ...Object.fromEntries(CACHE_SERIES.map((name) => [name, points.map((p) => p[name])])),
    ...Object.fromEntries(WEB_SERIES.map((name) => [name, web.map(({ point }) => workerValue(point, name))])),
  } as DashboardData['series'];
  return { ...minuteCharts(now, points.map((p) => p.at), series), currentNodes };
}

export function toWorkerCharts(points: readonly WorkerMinute[], now: Date): MinuteCharts<WorkerSeriesName> {
  const minutes = onMinutes(points, windowStart(now));
  const series = Object.fromEntries(
    WORKER_SERIES_NAMES.map((name) => [name, minutes.map(({ point }) => workerValue(point, name))]),
  ) as Record<WorkerSeriesName, (number | null)[]>;
  return minuteCharts(now, minutes.map(({ at }) => at), series);
}

import type { MinutePoint } from '../../metrics/metrics-sink.js';
import { floorToMinute, MINUTE_MS } from '../../metrics/minute-series.js';

/** The window the dashboard charts, one point a minute, the last point the current minute. */
export const DASHBOARD_MINUTES = 30;

export const SERIES_NAMES = ['nodes', 'missRate', 'hitRate', 'items', 'bytes', 'requests'] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];

/** What /dashboard/data.json answers; a null value is a minute in which no node reported. */
export type DashboardData = {
  generatedAt: string;
  /** Start of each minute, ISO 8601. */
  minutes: string[];
  /** The same minutes as HH:MM in the server's time zone (the page formats `minutes` in the viewer's). */
  labels: string[];
  /** Nodes in the pool right now, which may differ from those that reported last minute. */
  currentNodes: number;
  series: Record<SeriesName, (number | null)[]>;
};

const nullableNumbers = { type: 'array', items: { type: ['number', 'null'] } } as const;

export const DashboardDataSchema = {
  type: 'object',
  required: ['generatedAt', 'minutes', 'labels', 'currentNodes', 'series'],
  properties: {
    generatedAt: { type: 'string' },
    minutes: { type: 'array', items: { type: 'string' } },
    labels: { type: 'array', items: { type: 'string' } },
    currentNodes: { type: 'integer' },
    series: {
      type: 'object',
      required: [...SERIES_NAMES],
      properties: Object.fromEntries(SERIES_NAMES.map((name) => [name, nullableNumbers])),
    },
  },
} as const;

/** The first minute of the window that ends with the minute containing `now`. */
export function windowStart(now: Date): Date {
  return new Date(floorToMinute(now).getTime() - (DASHBOARD_MINUTES - 1) * MINUTE_MS);
}

const twoDigits = (n: number) => String(n).padStart(2, '0');
export const hhmm = (at: Date) => `${twoDigits(at.getHours())}:${twoDigits(at.getMinutes())}`;

export function toDashboardData(points: readonly MinutePoint[], now: Date, currentNodes: number): DashboardData {
  const series = Object.fromEntries(SERIES_NAMES.map((name) => [name, points.map((p) => p[name])])) as DashboardData['series'];
  return {
    generatedAt: now.toISOString(),
    minutes: points.map((p) => p.at.toISOString()),
    labels: points.map((p) => hhmm(p.at)),
    currentNodes,
    series,
  };
}

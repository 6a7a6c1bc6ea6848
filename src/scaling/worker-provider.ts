import type { MemberProvider } from './member-provider.js';

export const WEB_POOL_KINDS = ['none', 'cluster', 'ec2'] as const;
export type WebPoolKind = (typeof WEB_POOL_KINDS)[number];

/**
 * Runs the web pool's workers (role `web`): `cluster` forks them from the leader manager, sharing
 * the web port through Node's cluster; `ec2` runs instances registered in an ALB target group.
 * `start` resolves once the worker takes traffic; `stop` drains it first (no new requests,
 * in-flight ones finish), then stops it.
 */
export type WorkerProvider = MemberProvider & { readonly kind: Exclude<WebPoolKind, 'none'> };

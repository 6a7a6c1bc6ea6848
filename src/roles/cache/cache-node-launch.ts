import { fileURLToPath } from 'node:url';

/**
 * Node's options for every cache-node process, wherever it is started (the process provider,
 * EC2 user-data, the memory benchmark). A node's data lives outside the JS heap, in Buffers;
 * the heap holds only the index and each request's objects, so a young generation of 1 MB
 * (the default grows to 16 MB per semi-space) costs a few cheap scavenges and saves ~10 MB
 * of resident memory per node. --expose-gc lets the node collect dead receive buffers
 * itself (receive-buffer-collector.ts).
 */
export const CACHE_NODE_EXEC_ARGV: readonly string[] = Object.freeze(['--max-semi-space-size=1', '--expose-gc']);

/**
 * Environment for every cache-node process, next to CACHE_NODE_EXEC_ARGV. glibc puts
 * allocations under 128 KB in its heap, where a node's values (images of ~100 KB) end up
 * between the dead 64 KB receive buffers of earlier requests, and an evicted value leaves
 * a hole the heap never gives back (~10 MB on a full 64 MB node). From 32 KB up, each
 * allocation gets its own mapping, returned to the system when it is freed.
 */
export const CACHE_NODE_ENV: Readonly<Record<string, string>> = Object.freeze({
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=32768',
});

/**
 * The entry point of this build: compiled JavaScript when this module runs from dist/
 * (production), otherwise bin/emc.js, which runs the TypeScript sources through tsx.
 */
export function emcEntryPoint(): string {
  const compiled = import.meta.url.endsWith('.js');
  return fileURLToPath(new URL(compiled ? '../../cli.js' : '../../../bin/emc.js', import.meta.url));
}

/** The arguments after `node` that start a cache node. */
export function cacheNodeArgs(): string[] {
  return [...CACHE_NODE_EXEC_ARGV, emcEntryPoint(), 'start', '--role', 'cache'];
}

/**
 * What a parent sends a cache node it started with an IPC channel once the node may outlive
 * it (its pool row is recorded; src/cli.ts): the node then no longer stops when the channel closes.
 */
export const OUTLIVE_MESSAGE = Object.freeze({ emc: 'outlive' });

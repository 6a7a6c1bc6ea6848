import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';

test('the embedded defaults need no environment at all', () => {
  const config = loadConfig({});
  assert.equal(config.role, 'all');
  assert.equal(config.host, '127.0.0.1');
  assert.deepEqual(config.ports, { web: 5000, manager: 5002, cache: 5001 });
  assert.equal(config.dataDir, resolve('data'));
  assert.deepEqual(config.database, { provider: 'sqlite', url: `file:${resolve('data/emc.db')}`, poolSize: 10 });
  assert.equal(config.blobStore.dir, resolve('data/images'));
  assert.equal(config.uploadLimitBytes, 10 * 1024 * 1024);
  assert.equal(config.adminToken, undefined);
});

test('PostgreSQL is chosen by the URL scheme', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).database.provider, 'postgres');
  assert.equal(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).database.provider, 'postgres');
  assert.equal(loadConfig({ DATABASE_URL: 'file:/tmp/x.db' }).database.provider, 'sqlite');
});

test('a bad value is refused with a message naming the variable', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ EMC_ROLE: 'bogus' }, /EMC_ROLE="bogus"/],
    [{ EMC_WEB_PORT: '70000' }, /EMC_WEB_PORT="70000"/],
    [{ EMC_WEB_PORT: 'eighty' }, /EMC_WEB_PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL=.*file: \(SQLite\) or postgres:\/\/ URL/],
    [{ EMC_UPLOAD_LIMIT_MB: '-1' }, /EMC_UPLOAD_LIMIT_MB/],
    [{ EMC_BLOB_STORE: 's3' }, /EMC_S3_BUCKET \(not set\): is required when EMC_BLOB_STORE=s3/],
    [{ EMC_BLOB_STORE: 'gcs' }, /EMC_BLOB_STORE="gcs"/],
    [{ EMC_LOG_LEVEL: 'loud' }, /EMC_LOG_LEVEL/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  }
});

test('an empty admin token means no token', () => {
  assert.equal(loadConfig({ EMC_ADMIN_TOKEN: '' }).adminToken, undefined);
  assert.equal(loadConfig({ EMC_ADMIN_TOKEN: 't' }).adminToken, 't');
});

test('the web pool: none by default, cluster with cache processes, bounded, and refused with in-process shards', () => {
  const defaults = loadConfig({}).webPool;
  assert.deepEqual(
    { kind: defaults.kind, minWorkers: defaults.minWorkers, maxWorkers: defaults.maxWorkers, workerId: defaults.workerId, cpuWindowMs: defaults.cpuWindowMs },
    { kind: 'none', minWorkers: 1, maxWorkers: 8, workerId: undefined, cpuWindowMs: 120_000 },
  );
  const cluster = loadConfig({ EMC_WEB_POOL: 'cluster', EMC_PROVIDER: 'process', EMC_MIN_WORKERS: '2', EMC_MAX_WORKERS: '3', EMC_WORKER_DRAIN_S: '5', EMC_WORKER_CPU_WINDOW_S: '10' }).webPool;
  assert.deepEqual([cluster.kind, cluster.minWorkers, cluster.maxWorkers, cluster.drainTimeoutMs, cluster.cpuWindowMs], ['cluster', 2, 3, 5000, 10_000]);
  assert.equal(loadConfig({ EMC_ROLE: 'web', EMC_PROVIDER: 'process', EMC_WORKER_ID: 'worker-2' }).webPool.workerId, 'worker-2');
  assert.equal(loadConfig({ EMC_ROLE: 'web', EMC_PROVIDER: 'process', EMC_INSTANCE_ID: 'i-0123456789abcdef0' }).webPool.instanceId, 'i-0123456789abcdef0');
  const bad: [Record<string, string>, RegExp][] = [
    [{ EMC_WEB_POOL: 'cluster' }, /EMC_WEB_POOL="cluster": web workers need cache nodes outside their process: use EMC_PROVIDER=process/],
    [{ EMC_WEB_POOL: 'cluster', EMC_PROVIDER: 'process', EMC_MIN_WORKERS: '4', EMC_MAX_WORKERS: '2' }, /EMC_MIN_WORKERS="4": must not be above EMC_MAX_WORKERS/],
    [{ EMC_WEB_POOL: 'swarm' }, /EMC_WEB_POOL="swarm"/],
    [{ EMC_WORKER_ID: 'a b' }, /EMC_WORKER_ID/],
    [{ EMC_WORKER_CPU_WINDOW_S: '0' }, /EMC_WORKER_CPU_WINDOW_S="0"/],
    [{ EMC_INSTANCE_ID: 'worker-1' }, /EMC_INSTANCE_ID="worker-1": an EC2 instance id/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  }
});

test('an ec2 web pool needs ec2 cache nodes, a target group ARN and a web launch template', () => {
  const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/emc-web/0123456789abcdef';
  const base = { EMC_ROLE: 'manager', EMC_ADMIN_PASSWORD: 'long enough', EMC_WEB_POOL: 'ec2' };
  const bad: [Record<string, string>, RegExp][] = [
    [{ ...base, EMC_PROVIDER: 'process', EMC_ALB_TARGET_GROUP_ARN: arn, EMC_EC2_WEB_LAUNCH_TEMPLATE: 'emc-web' }, /EMC_WEB_POOL="ec2": web workers on EC2 need cache nodes on EC2/],
    [{ ...base, EMC_PROVIDER: 'ec2', EMC_EC2_WEB_LAUNCH_TEMPLATE: 'emc-web' }, /EMC_ALB_TARGET_GROUP_ARN \(not set\): is required when EMC_WEB_POOL=ec2/],
    [{ ...base, EMC_PROVIDER: 'ec2', EMC_ALB_TARGET_GROUP_ARN: arn }, /EMC_EC2_WEB_LAUNCH_TEMPLATE \(not set\): is required when EMC_WEB_POOL=ec2/],
    [{ ...base, EMC_PROVIDER: 'ec2', EMC_ALB_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/emc/0123', EMC_EC2_WEB_LAUNCH_TEMPLATE: 'emc-web' }, /EMC_ALB_TARGET_GROUP_ARN=.*must be a target group ARN/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  }
  const config = loadConfig({ ...base, EMC_PROVIDER: 'ec2', EMC_ALB_TARGET_GROUP_ARN: arn, EMC_EC2_WEB_LAUNCH_TEMPLATE: 'lt-0123456789abcdef0' });
  assert.deepEqual([config.webPool.kind, config.webPool.targetGroupArn, config.webPool.launchTemplate], ['ec2', arn, 'lt-0123456789abcdef0']);
});

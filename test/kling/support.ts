import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { startKlingSimulator, type KlingSimulator, type KlingSimulatorOptions } from '../../src/dev/kling-sim';
import { KlingClient, type KlingClientOptions, type KlingTask } from '../../src/kling';
import type { KlingEndpoint } from '../../src/pricing';

export const KEYS = {
  accessKey: 'ak-test-0123456789',
  secretKey: 'sk-test-SECRET-abcdef',
  apiKey: 'api-test-KEY-987654',
};

const open: KlingSimulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** A simulator closed after the test. */
export async function simulator(options: KlingSimulatorOptions = {}): Promise<KlingSimulator> {
  const sim = await startKlingSimulator({ ...KEYS, ...options });
  open.push(sim);
  return sim;
}

/** A client with fast retries, signing with the key pair unless told otherwise. */
export function client(sim: KlingSimulator, options: Partial<KlingClientOptions> = {}): KlingClient {
  return new KlingClient({
    baseUrl: sim.url,
    auth: { accessKey: KEYS.accessKey, secretKey: KEYS.secretKey },
    timeoutMs: 15_000, // generous: on a loaded machine a timeout would add lookups the tests do not expect
    retries: 2,
    retryDelayMs: 1,
    ...options,
  });
}

/**
 * One answered call, then a clean record: the first request of a process pays for connection setup and JIT,
 * which would otherwise eat into the short timeouts the fault tests use.
 */
export async function warm(sim: KlingSimulator, kling: KlingClient): Promise<void> {
  await kling.accountCosts();
  sim.requests.length = 0;
}

/** Polls until the task has ended (no timing is asserted; the deadline only stops a broken run). */
export async function settle(kling: KlingClient, endpoint: KlingEndpoint, taskId: string): Promise<KlingTask> {
  for (let i = 0; i < 3_000; i++) {
    const task = await kling.query(endpoint, { taskId });
    if (task.status === 'succeed' || task.status === 'failed') return task;
    await sleep(10);
  }
  throw new Error(`task ${taskId} did not end`);
}

export async function waitFor<T>(predicate: () => T | undefined | false, what = 'condition'): Promise<T> {
  for (let i = 0; i < 3_000; i++) {
    const value = predicate();
    if (value) return value;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let counter = 0;
export const externalId = () => `gen-${process.pid}-${++counter}-${Date.now()}`;

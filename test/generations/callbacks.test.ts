import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/generations';
import { createMetrics } from '../../src/http/metrics';
import { httpRoutes } from '../../src/http/routes';
import { KlingClient } from '../../src/kling';
import { createLogger } from '../../src/log';
import { FAST, SIM_KEY, allEnded, request, rig, settlementProblems, states, waitFor, type Rig } from './support';

/** Kling callbacks through the bot's own route (unsigned: no webhook secret), to a worker that relies on them. */
async function withCallbacks(r: Rig, gapMs: number): Promise<{ worker: Worker; url: string; server: Server }> {
  let worker!: Worker;
  const routes = httpRoutes({
    database: { ping: async () => {} },
    metrics: createMetrics(r.database.db),
    wake: (id, status) => worker.wake(id, status),
    logger: createLogger('silent'),
  });
  const callback = routes.find((route) => route.path === '/kling/callback')!;
  const server = createServer((req, res) => callback.handler(req as never, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/kling/callback`;
  const kling = new KlingClient({ baseUrl: r.sim.url, auth: { apiKey: SIM_KEY }, retries: 0, callbackUrl: url });
  worker = new Worker(r.database.db, r.ledger, kling, {
    ...FAST,
    // Leases are not what these tests count: a create slowed past FAST's 1 s lease on a loaded machine would be
    // taken over and looked up once more (a query no callback asked for).
    leaseMs: 30_000,
    maxConcurrency: 10,
    taskTimeoutMinutes: 30,
    callbacks: true,
    safetyPollMs: 600_000,
    callbackGapMs: gapMs,
  });
  worker.on((e) => r.events.push(e));
  return { worker, url, server };
}

const queries = (r: Rig) => r.sim.tasks().reduce((sum, t) => sum + t.queries, 0);

describe('Kling callbacks', () => {
  it('replace polling: a task is queried only when a callback brings news', async () => {
    const r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 300 } } });
    const { worker, server } = await withCallbacks(r, 20);
    try {
      const res = await r.queue.enqueue(Array.from({ length: 5 }, (_, i) => request(`U${i}`)));
      expect(res.ok).toBe(true);
      await worker.start();
      await waitFor('every job to end', () => allEnded(r.database.db));
      await worker.stop();
      expect(await states(r.database.db)).toEqual({ succeeded: 5 });
      // One query for "processing" and one for "succeed"; "submitted" is what the create already said.
      for (const task of r.sim.tasks()) expect(task.queries, task.externalTaskId).toBeLessThanOrEqual(2);
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      server.close();
      await r.close();
    }
  });

  it('a flood of forged callbacks costs at most one query per task in flight per gap, and settles nothing', async () => {
    const r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 600_000 } } });
    const gapMs = 500;
    const { worker, url, server } = await withCallbacks(r, gapMs);
    try {
      const res = await r.queue.enqueue(Array.from({ length: 3 }, (_, i) => request(`U${i}`)));
      if (!res.ok) throw new Error('not queued');
      const ids = res.generations.map((g) => g.id);
      await worker.start();
      await waitFor('the tasks processing', async () => (await states(r.database.db)).processing === 3);
      const before = queries(r);

      // 1,000 forged "succeed" callbacks, for the real jobs and for made-up ones, 20 at a time.
      const started = Date.now();
      let sent = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (sent < 1_000) {
            const id = sent % 2 ? ids[sent % 3]! : `kbb_forged-${sent}`;
            sent += 1;
            const body = JSON.stringify({
              task_id: `t-${sent}`,
              task_status: 'succeed',
              task_info: { external_task_id: id },
            });
            await (await fetch(url, { method: 'POST', body })).arrayBuffer();
          }
        }),
      );
      const elapsed = Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, gapMs * 2)); // the last coalesced queries
      const during = queries(r) - before;
      expect(during).toBeGreaterThan(0); // the callbacks did reach the worker
      expect(during).toBeLessThanOrEqual(3 * (Math.ceil((elapsed + 2 * gapMs) / gapMs) + 1));
      // Nothing was taken from a callback's body: the jobs still run, holds open.
      expect(await states(r.database.db)).toEqual({ processing: 3 });
      expect(r.sim.requests.filter((q) => q.path.includes('forged'))).toEqual([]);

      // A real callback still brings the end in.
      for (const task of r.sim.tasks()) r.sim.endTask(task.taskId, 'succeed');
      await waitFor('every job to end', () => allEnded(r.database.db));
      expect(await states(r.database.db)).toEqual({ succeeded: 3 });
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await worker.stop();
      server.close();
      await r.close();
    }
  }, 120_000);
});

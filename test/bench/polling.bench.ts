// Status queries per Kling task, and how soon its end is seen: the worker's schedule without callbacks and with
// callbacks (through the bot's own POST /kling/callback), beside fixed 10-second polling in the same run.
// A 2.5-minute task is run with time scaled down (every duration divided by SCALE, the simulator's task timings
// and the worker's schedule alike), so the bench takes seconds; figures are given back in real-life seconds.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger } from '../../src/budget';
import { openDatabase, rows, sql } from '../../src/db';
import { startKlingSimulator } from '../../src/dev/kling-sim';
import { GenerationQueue, Worker, type WorkerOptions } from '../../src/generations';
import { createMetrics } from '../../src/http/metrics';
import { httpRoutes } from '../../src/http/routes';
import { KlingClient } from '../../src/kling';
import { createLogger } from '../../src/log';
import { builtInCatalog } from '../../src/pricing';
import { createTestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const SCALE = 20;
const TASKS = 10;
/** Kling's task: 10 s submitted, 140 s processing (2.5 minutes). */
const QUEUED_S = 10;
const PROCESSING_S = 140;

const scaled = (seconds: number) => (seconds * 1000) / SCALE;

interface Result {
  queries: number;
  /** Mean seconds from the task's end at Kling to the job's end in the bot (real-life seconds). */
  lagS: number;
}

async function run(schedule: Partial<WorkerOptions>, callbacks: boolean): Promise<Result> {
  const test = await createTestDatabase({ max: 2 });
  const pool = await openDatabase({ url: test.url, max: 5, migrate: false });
  const sim = await startKlingSimulator({
    apiKey: 'bench',
    timings: { queuedMs: scaled(QUEUED_S), processingMs: scaled(PROCESSING_S) },
  });
  let worker!: Worker;
  const routes = httpRoutes({
    database: pool,
    metrics: createMetrics(pool.db),
    wake: (id, status) => worker.wake(id, status),
    logger: createLogger('silent'),
  });
  const callback = routes.find((route) => route.path === '/kling/callback')!;
  const server = createServer((req, res) => callback.handler(req as never, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const callbackUrl = callbacks
      ? `http://127.0.0.1:${(server.address() as AddressInfo).port}/kling/callback`
      : undefined;
    const kling = new KlingClient({ baseUrl: sim.url, auth: { apiKey: 'bench' }, retries: 0, callbackUrl });
    const ledger = new Ledger(pool.db, { defaultDailyLimitMc: mc(1e12) });
    worker = new Worker(pool.db, ledger, kling, {
      maxConcurrency: TASKS,
      taskTimeoutMinutes: 60,
      idleMs: scaled(2),
      callbacks,
      ...schedule,
    });
    const quote = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'bench', model_name: 'kling-v2-5-turbo' },
    });
    const queue = new GenerationQueue(pool.db, ledger, { maxQueuedPerUser: TASKS });
    await queue.enqueue(Array.from({ length: TASKS }, () => ({ teamId: 'T1', channelId: 'C1', userId: 'U1', quote })));
    await worker.start();
    const left = async () =>
      (await rows<{ n: number }>(pool.db, sql`select count(*)::int as n from generations where ended_at is null`))[0]!
        .n;
    while ((await left()) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await worker.stop();
    // The job's whole run in the bot, less the task's run at Kling: how late its end was seen.
    const [lag] = await rows<{ ms: number }>(
      pool.db,
      sql`
      select avg(extract(epoch from ended_at - submitted_at) * 1000)::float8 as ms from generations`,
    );
    const queries = sim.tasks().reduce((sum, t) => sum + t.queries, 0) / TASKS;
    return { queries, lagS: ((lag!.ms - scaled(QUEUED_S + PROCESSING_S)) * SCALE) / 1000 };
  } finally {
    server.close();
    await sim.close();
    await pool.close();
    await test.drop();
  }
}

export default async function pollingBench(): Promise<void> {
  // Fixed polling every 10 s is what the worker did before (one query per 10 s whatever the task's age).
  const fixed = await run({ pollMs: scaled(10), pollMaxMs: scaled(10) }, false);
  const backoff = await run({ pollMs: scaled(5), pollMaxMs: scaled(30) }, false);
  const called = await run(
    { pollMs: scaled(5), pollMaxMs: scaled(30), safetyPollMs: scaled(180), callbackGapMs: scaled(5) },
    true,
  );
  const line = (name: string, r: Result) => {
    const ratio = r === fixed ? '' : `(${((r.queries / fixed.queries) * 100).toFixed(0)}% of fixed)`;
    return `${name.padEnd(36)} ${r.queries.toFixed(1).padStart(5)} queries/task  ${ratio.padEnd(16)} end seen ${r.lagS.toFixed(1)} s after it happened`;
  };
  console.log(
    `${TASKS} tasks of ${QUEUED_S + PROCESSING_S} s at the Kling simulator, time scaled down ×${SCALE}; figures in real seconds`,
  );
  console.log(line('fixed 10-s polling (baseline)', fixed));
  console.log(line('polling: 5 s, half the age, ≤ 30 s', backoff));
  console.log(line('callbacks + 3-min safety poll', called));
}

// Jobs claimed per second by two queue workers (separate pools, the real claim with its account-wide lock, slot
// counts, fair share and round-robin, Kling answered by the simulator with zero timings), beside a bare FOR UPDATE SKIP LOCKED
// claim loop on the same database in the same run, with the same number of loops per worker; and the claim
// statement alone in the bare loop's shape, to show what the SQL costs apart from the Kling round trips.
import { Ledger } from '../../src/budget';
import { openDatabase, rows, sql, type Database } from '../../src/db';
import { startKlingSimulator } from '../../src/dev/kling-sim';
import { GenerationQueue, Worker } from '../../src/generations';
import { claimSubmissions } from '../../src/generations/store';
import { KlingClient } from '../../src/kling';
import { builtInCatalog } from '../../src/pricing';
import { createTestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const JOBS = Number(process.env.BENCH_JOBS ?? 2_000);
const TEAMS = 10;
const USERS_PER_TEAM = 10;
/** Jobs a worker acts on at once; also the bare loop's concurrent loops per worker. */
const PARALLEL = 16;
const UNCAPPED = { perTeam: 1_000_000, account: 1_000_000 };

async function timeUntil(check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5));
  return (performance.now() - started) / 1000;
}

/** JOBS queued jobs over TEAMS workspaces (team ids `${prefix}0`…) of USERS_PER_TEAM people each. */
async function enqueueJobs(pool: Database, prefix: string): Promise<void> {
  const queue = new GenerationQueue(pool.db, new Ledger(pool.db, { defaultDailyLimitMc: mc(1e15) }), {
    maxQueuedPerUser: JOBS,
  });
  const quote = builtInCatalog.quote({
    endpoint: 'text2video',
    body: { prompt: 'bench', model_name: 'kling-v2-5-turbo' },
  });
  const per = JOBS / (TEAMS * USERS_PER_TEAM);
  for (let t = 0; t < TEAMS; t++) {
    for (let u = 0; u < USERS_PER_TEAM; u++) {
      const res = await queue.enqueue(
        Array.from({ length: per }, () => ({ teamId: `${prefix}${t}`, channelId: 'C1', userId: `U${u}`, quote })),
      );
      if (!res.ok) throw new Error('bench enqueue refused');
    }
  }
}

/** The claim statement alone (account lock, slot counts, fair share and round-robin), one job per call, in the bare loop's shape. */
async function claimOnly(pools: Database[]): Promise<number> {
  const [main] = pools as [Database];
  await enqueueJobs(main, 'C');
  let claimed = 0;
  const started = performance.now();
  await Promise.all(
    pools.flatMap((pool, w) =>
      Array.from({ length: PARALLEL }, async () => {
        while (claimed < JOBS) {
          const n = (await claimSubmissions(pool.db, UNCAPPED, 1, `claim-only-${w}`, 3_600_000)).length;
          claimed += n; // not `claimed += await …`, which would add to the value read before the wait
        }
      }),
    ),
  );
  const rate = JOBS / ((performance.now() - started) / 1000);
  // Those jobs never go to Kling: out of the way of the workers' run.
  await main.db.execute(sql`delete from generations where team_id like 'C%'`);
  return rate;
}

async function queueWorkers(pools: Database[]): Promise<{ claimed: number; ended: number }> {
  const sim = await startKlingSimulator({
    apiKey: 'bench',
    concurrency: 1e9,
    timings: { queuedMs: 0, processingMs: 0 },
  });
  const [main] = pools as [Database];
  await enqueueJobs(main, 'T');
  const workers = pools.map(
    (pool, i) =>
      new Worker(
        pool.db,
        new Ledger(pool.db),
        new KlingClient({ baseUrl: sim.url, auth: { apiKey: 'bench' }, retries: 0 }),
        {
          maxConcurrency: UNCAPPED.perTeam,
          accountConcurrency: UNCAPPED.account,
          taskTimeoutMinutes: 60,
          pollMs: 1,
          pollMaxMs: 1,
          parallel: PARALLEL,
          workerId: `bench-${i}`,
        },
      ),
  );
  const count = async (states: string) =>
    (
      await rows<{ n: number }>(
        main.db,
        sql.raw(`select count(*)::int as n from generations where state in (${states})`),
      )
    )[0]!.n;
  await Promise.all(workers.map((w) => w.start()));
  const claimedIn = await timeUntil(async () => (await count(`'queued'`)) === 0);
  const endedIn =
    claimedIn + (await timeUntil(async () => (await count(`'submitting','submitted','processing'`)) === 0));
  await Promise.all(workers.map((w) => w.stop()));
  await sim.close();
  if (sim.tasks().length !== JOBS) throw new Error(`expected ${JOBS} Kling tasks, got ${sim.tasks().length}`);
  return { claimed: JOBS / claimedIn, ended: JOBS / endedIn };
}

async function bareLoop(pools: Database[]): Promise<number> {
  const [main] = pools as [Database];
  await main.db.execute(sql`create table bare_jobs (id serial primary key, state text not null default 'queued')`);
  await main.db.execute(sql`insert into bare_jobs (state) select 'queued' from generate_series(1, ${JOBS})`);
  const started = performance.now();
  await Promise.all(
    pools.flatMap((pool) =>
      Array.from({ length: PARALLEL }, async () => {
        for (;;) {
          const claimed = await rows(
            pool.db,
            sql`
            update bare_jobs set state = 'claimed'
            where id = (select id from bare_jobs where state = 'queued' order by id limit 1 for update skip locked)
            returning id`,
          );
          if (claimed.length === 0) return;
        }
      }),
    ),
  );
  return JOBS / ((performance.now() - started) / 1000);
}

export default async function queueBench(): Promise<void> {
  const test = await createTestDatabase({ max: 2 });
  const pools = [
    await openDatabase({ url: test.url, max: PARALLEL, migrate: false }),
    await openDatabase({ url: test.url, max: PARALLEL, migrate: false }),
  ];
  try {
    const bare = await bareLoop(pools);
    const claims = await claimOnly(pools);
    const ours = await queueWorkers(pools);
    console.log(
      `${JOBS} jobs, ${TEAMS} workspaces × ${USERS_PER_TEAM} users, 2 workers × ${PARALLEL} in parallel, separate pools`,
    );
    console.log(`bare SKIP LOCKED claim loop          ${bare.toFixed(0).padStart(7)} jobs/s`);
    console.log(
      `queue claim statement alone          ${claims.toFixed(0).padStart(7)} jobs/s   (${((claims / bare) * 100).toFixed(1)}% of bare)`,
    );
    console.log(
      `queue workers: claimed               ${ours.claimed.toFixed(0).padStart(7)} jobs/s   (${((ours.claimed / bare) * 100).toFixed(1)}% of bare)`,
    );
    console.log(
      `queue workers: claimed → settled     ${ours.ended.toFixed(0).padStart(7)} jobs/s   (create + poll at the simulator + ledger commit)`,
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await test.drop();
  }
}

import { Ledger, checkInvariants } from '../../src/budget';
import { startKlingSimulator, type KlingSimulator, type KlingSimulatorOptions } from '../../src/dev/kling-sim';
import {
  GenerationQueue,
  Worker,
  type EnqueueRequest,
  type Generation,
  type WorkerEvent,
  type WorkerOptions,
} from '../../src/generations';
import { KlingClient } from '../../src/kling';
import { builtInCatalog } from '../../src/pricing';
import { rows, sql, type Db } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FAST, SIM_KEY } from './timings';
import { mc } from '../../src/money/credits';

export { FAST, SIM_KEY };

export const TEAM = 'T1';

export function klingClient(sim: KlingSimulator, timeoutMs = 1_000): KlingClient {
  return new KlingClient({ baseUrl: sim.url, auth: { apiKey: SIM_KEY }, retries: 0, retryDelayMs: 5, timeoutMs });
}

export function request(userId: string, prompt = `a fox ${Math.random()}`, channelId = 'C1'): EnqueueRequest {
  const quote = builtInCatalog.quote({ endpoint: 'text2video', body: { prompt, model_name: 'kling-v2-5-turbo' } });
  return { teamId: TEAM, channelId, userId, quote };
}

/** Resolves when `check` returns something truthy; fails with `what` after `timeoutMs`. Not a timed assertion: only a bound on waiting. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function states(db: Db): Promise<Record<string, number>> {
  const found = await rows<{ state: string; n: number }>(
    db,
    sql`select state, count(*)::int as n from generations group by state`,
  );
  return Object.fromEntries(found.map((r) => [r.state, r.n]));
}

export async function allEnded(db: Db): Promise<boolean> {
  const [r] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from generations where state in ('queued','submitting','submitted','processing')`,
  );
  return r!.n === 0;
}

/** Every ended job's hold settled the way its end says, and the ledger's own invariants. */
export async function settlementProblems(db: Db): Promise<string[]> {
  const problems = await checkInvariants(db);
  for (const r of await rows<{ id: string; state: string; status: string | null }>(
    db,
    sql`
    select g.id, g.state, h.status from generations g left join holds h on h.id = g.hold_id
    where g.state <> 'refused' and (h.status is null
       or (g.state = 'succeeded' and (h.status <> 'committed' or h.actual_mc <> g.actual_mc))
       or (g.state in ('failed', 'cancelled') and h.status <> 'released')
       or (g.state in ('queued','submitting','submitted','processing') and h.status <> 'open'))`,
  )) {
    problems.push(`generation ${r.id} is ${r.state} but its hold is ${r.status ?? 'missing'}`);
  }
  return problems;
}

export interface Rig {
  database: TestDatabase;
  sim: KlingSimulator;
  ledger: Ledger;
  queue: GenerationQueue;
  events: WorkerEvent[];
  worker(options?: Partial<WorkerOptions>, db?: Db): Worker;
  close(): Promise<void>;
}

export async function rig(
  options: { sim?: KlingSimulatorOptions; maxQueuedPerUser?: number; max?: number } = {},
): Promise<Rig> {
  const database = await createTestDatabase({ max: options.max ?? 10 });
  const sim = await startKlingSimulator({ apiKey: SIM_KEY, ...options.sim });
  const ledger = new Ledger(database.db, { defaultDailyLimitMc: mc(10_000_000) });
  const queue = new GenerationQueue(database.db, ledger, { maxQueuedPerUser: options.maxQueuedPerUser ?? 1_000 });
  const events: WorkerEvent[] = [];
  const workers: Worker[] = [];
  return {
    database,
    sim,
    ledger,
    queue,
    events,
    worker(workerOptions = {}, db = database.db) {
      const worker = new Worker(db, new Ledger(db), klingClient(sim), {
        maxConcurrency: 3,
        taskTimeoutMinutes: 10,
        ...FAST,
        ...workerOptions,
      });
      worker.on((e) => events.push(e));
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await sim.close();
      await database.drop();
    },
  };
}

export function jobEvents(events: WorkerEvent[], id: string): Generation[] {
  return events.flatMap((e) => (e.kind === 'job' && e.generation.id === id ? [e.generation] : []));
}

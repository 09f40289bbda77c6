import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openDatabase, rows, sql } from '../../src/db';
import { KlingClient, parseCallback } from '../../src/kling';
import { Ledger } from '../../src/budget';
import { startKlingSimulator } from '../../src/dev/kling-sim';
import { GenerationQueue, Worker } from '../../src/generations';
import {
  FAST,
  SIM_KEY,
  TEAM,
  allEnded,
  jobEvents,
  klingClient,
  request,
  rig,
  settlementProblems,
  states,
  waitFor,
  type Rig,
} from './support';
import { mc } from '../../src/money/credits';

/** External ids in the order the simulator received their create calls. */
function createOrder(r: Rig): string[] {
  return r.sim.requests
    .filter((q) => q.method === 'POST' && q.path === '/v1/videos/text2video')
    .map((q) => (q.body as { external_task_id: string }).external_task_id);
}

function duplicates(r: Rig): string[] {
  const seen = new Map<string, number>();
  for (const t of r.sim.tasks()) seen.set(t.externalTaskId!, (seen.get(t.externalTaskId!) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

async function enqueueUserMajor(r: Rig, users: number, each: number): Promise<void> {
  for (let u = 1; u <= users; u++) {
    const res = await r.queue.enqueue(Array.from({ length: each }, (_, i) => request(`U${u}`, `clip ${u}.${i}`)));
    expect(res.ok).toBe(true);
  }
}

describe('Worker', () => {
  it('runs 100 jobs from 10 users with concurrency 3: never more than 3 at Kling, users in turn, all settled', async () => {
    const r = await rig({ sim: { concurrency: 50, timings: { queuedMs: 5, processingMs: 15 } } });
    try {
      await enqueueUserMajor(r, 10, 10); // all of U1's jobs first: FIFO would serve U1 ten times in a row
      const worker = r.worker({ maxConcurrency: 3 });
      await worker.start();
      await waitFor('every job to end', () => allEnded(r.database.db), 60_000);
      await worker.stop();

      expect(await states(r.database.db)).toEqual({ succeeded: 100 });
      expect(r.sim.inFlightPeak()).toBeLessThanOrEqual(3);
      expect(r.sim.inFlightPeak()).toBe(3); // the limit was actually reached, so the bound above means something
      expect(duplicates(r)).toEqual([]);

      // Round-robin, replayed from the worker's events (in the order it claimed): whenever a user was served,
      // no other user who was waiting with nothing in flight had been served fewer times.
      const served = new Map<string, number>();
      const flying = new Map<string, number>();
      let claims = 0;
      for (const e of r.events) {
        if (e.kind !== 'job') continue;
        const { userId, state } = e.generation;
        if (state === 'submitting') {
          claims += 1;
          for (const [other, n] of served) {
            const waiting = n < 10 && (flying.get(other) ?? 0) === 0;
            if (other !== userId && waiting)
              expect(n, `${userId} served before ${other}`).toBeGreaterThanOrEqual(served.get(userId) ?? 0);
          }
          served.set(userId, (served.get(userId) ?? 0) + 1);
          flying.set(userId, (flying.get(userId) ?? 0) + 1);
        }
        if (state === 'succeeded') flying.set(userId, flying.get(userId)! - 1);
      }
      expect(claims).toBe(100);
      // The first ten went to ten different people although U1 queued first.
      const firstTen = r.events
        .flatMap((e) => (e.kind === 'job' && e.generation.state === 'submitting' ? [e.generation.userId] : []))
        .slice(0, 10);
      expect(new Set(firstTen).size).toBe(10);
      expect(createOrder(r)).toHaveLength(100);

      // Kling's final_unit_deduction was committed, and the results kept.
      const job = (await r.queue.history(TEAM, 'U1', 1))[0]!;
      expect(job.actualMc).toBe(1500);
      expect(job.result?.videos[0]?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/.+\.mp4$/);
      expect(jobEvents(r.events, job.id).map((g) => g.state)).toEqual(
        expect.arrayContaining(['submitting', 'succeeded']),
      );
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('two workers with separate pools: no job submitted twice, the limit held across both', async () => {
    const r = await rig({ sim: { concurrency: 50, timings: { queuedMs: 5, processingMs: 20 } } });
    const second = await openDatabase({ url: r.database.url, max: 5, migrate: false });
    try {
      await enqueueUserMajor(r, 6, 10);
      const a = r.worker({ maxConcurrency: 3, workerId: 'a' });
      const b = r.worker({ maxConcurrency: 3, workerId: 'b' }, second.db);
      const byWorker = { a: 0, b: 0 };
      a.on((e) => void (e.kind === 'job' && e.generation.state === 'submitting' && byWorker.a++));
      b.on((e) => void (e.kind === 'job' && e.generation.state === 'submitting' && byWorker.b++));
      await Promise.all([a.start(), b.start()]);
      await waitFor('every job to end', () => allEnded(r.database.db), 60_000);
      await Promise.all([a.stop(), b.stop()]);

      expect(await states(r.database.db)).toEqual({ succeeded: 60 });
      expect(createOrder(r)).toHaveLength(60); // one create per job, none repeated
      expect(duplicates(r)).toEqual([]);
      expect(r.sim.inFlightPeak()).toBeLessThanOrEqual(3);
      expect(byWorker.a).toBeGreaterThan(0);
      expect(byWorker.b).toBeGreaterThan(0);
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await second.close();
      await r.close();
    }
  });

  it('an account cap over three workspaces and two workers: never more in flight, every workspace its share', async () => {
    const r = await rig({ sim: { concurrency: 50, timings: { queuedMs: 5, processingMs: 40 } } });
    const second = await openDatabase({ url: r.database.url, max: 5, migrate: false });
    const teams = ['T-a', 'T-b', 'T-c'];
    const samples: { team_id: string; flying: number; queued: number }[][] = [];
    let sampling = true;
    try {
      // All of T-a's jobs first: first come, first served would give T-a the whole account.
      for (const teamId of teams) {
        for (const userId of ['U1', 'U2', 'U3']) {
          const res = await r.queue.enqueue(Array.from({ length: 6 }, () => ({ ...request(userId), teamId })));
          expect(res.ok).toBe(true);
        }
      }
      const caps = { maxConcurrency: 3, accountConcurrency: 4 };
      const a = r.worker({ ...caps, workerId: 'a' });
      const b = r.worker({ ...caps, workerId: 'b' }, second.db);
      const sampler = (async () => {
        while (sampling) {
          samples.push(
            await rows(
              r.database.db,
              sql`
            select team_id, count(*) filter (where state in ('submitting', 'submitted', 'processing'))::int as flying,
                   count(*) filter (where state = 'queued')::int as queued
            from generations group by team_id`,
            ),
          );
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await Promise.all([a.start(), b.start()]);
      await waitFor('every job to end', () => allEnded(r.database.db), 60_000);
      sampling = false;
      await sampler;
      await Promise.all([a.stop(), b.stop()]);

      expect(await states(r.database.db)).toEqual({ succeeded: 54 });
      expect(duplicates(r)).toEqual([]);
      expect(r.sim.inFlightPeak()).toBeLessThanOrEqual(4);
      expect(r.sim.inFlightPeak()).toBe(4); // the cap was reached, so the bound means something
      const total = (sample: { flying: number }[]) => sample.reduce((sum, t) => sum + t.flying, 0);
      expect(Math.max(...samples.map(total))).toBeLessThanOrEqual(4);
      expect(Math.max(...samples.flatMap((sample) => sample.map((t) => t.flying)))).toBeLessThanOrEqual(3);
      // Whenever the account was full and every workspace still had jobs waiting, each had a task in flight.
      const full = samples.filter(
        (sample) => total(sample) === 4 && sample.length === 3 && sample.every((t) => t.queued > 0),
      );
      expect(full.length).toBeGreaterThan(0);
      for (const sample of full) expect(sample.map((t) => t.flying).sort(), JSON.stringify(sample)).toEqual([1, 1, 2]);
      // The first four claims served all three workspaces, though T-a's jobs were all queued first.
      const firstClaims = r.events.flatMap((e) =>
        e.kind === 'job' && e.generation.state === 'submitting' ? [e.generation.teamId] : [],
      );
      expect(new Set(firstClaims.slice(0, 4))).toEqual(new Set(teams));
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      sampling = false;
      await second.close();
      await r.close();
    }
  });

  it('waits for notBefore, and skips a paused workspace until resumed', async () => {
    const r = await rig();
    try {
      const later = await r.queue.enqueue({ ...request('U1'), notBefore: new Date(Date.now() + 60 * 60_000) });
      await r.ledger.ensureWorkspace('T-paused');
      await r.database.db.execute(
        sql`update workspaces set queue_paused_at = now(), queue_pause_reason = 'test' where team_id = 'T-paused'`,
      );
      const paused = await r.queue.enqueue({ ...request('U2'), teamId: 'T-paused' });
      const now = await r.queue.enqueue(request('U3'));
      if (!later.ok || !paused.ok || !now.ok) throw new Error('not queued');
      const worker = r.worker();
      await worker.start();
      await waitFor('the due job', async () => (await r.queue.get(now.generations[0]!.id))?.state === 'succeeded');
      // The due job went through several loops; the other two were never sent.
      expect((await r.queue.get(later.generations[0]!.id))?.state).toBe('queued');
      expect((await r.queue.get(paused.generations[0]!.id))?.state).toBe('queued');
      expect(createOrder(r)).toEqual([now.generations[0]!.id]);

      await worker.resume('T-paused');
      expect(r.events).toContainEqual({ kind: 'queue-resumed', teamId: 'T-paused' });
      await waitFor(
        'the resumed job',
        async () => (await r.queue.get(paused.generations[0]!.id))?.state === 'succeeded',
      );
      await r.database.db.execute(
        sql`update generations set next_attempt_at = now() where id = ${later.generations[0]!.id}`,
      );
      await waitFor(
        'the off-peak job once due',
        async () => (await r.queue.get(later.generations[0]!.id))?.state === 'succeeded',
      );
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('a Kling callback wakes the job for an immediate query; its body is not trusted', async () => {
    const r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 20 } } });
    let worker!: Worker;
    const receiver = http.createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const task = parseCallback(body, req.headers);
      res.end('ok');
      if (task.externalTaskId) worker.wake(task.externalTaskId, task.status);
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const client = new KlingClient({
        baseUrl: r.sim.url,
        auth: { apiKey: SIM_KEY },
        retries: 0,
        callbackUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/kling/callback`,
      });
      // A safety poll every 10 minutes: only the callback can bring the result in within the test.
      worker = new Worker(r.database.db, r.ledger, client, {
        ...FAST,
        maxConcurrency: 3,
        taskTimeoutMinutes: 30,
        callbacks: true,
        safetyPollMs: 600_000,
      });
      worker.on((e) => r.events.push(e));
      const res = await r.queue.enqueue(request('U1'));
      if (!res.ok) throw new Error('not queued');
      await worker.start();
      worker.wake();
      const id = res.generations[0]!.id;
      await waitFor('the woken job', async () => (await r.queue.get(id))?.state === 'succeeded');
      await worker.stop();
      // The result came from a query of the task, after the callback.
      const callbackAt = r.sim.callbacks.find((c) => c.status === 'succeed')!;
      expect(callbackAt).toBeDefined();
      const queries = r.sim.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/v1/videos/text2video/'));
      expect(queries.length).toBeGreaterThan(0);
      expect((await r.queue.get(id))?.actualMc).toBe(1500);
    } finally {
      receiver.close();
      await r.close();
    }
  });

  it('raises one stuck event for a task past its timeout and keeps its hold until it ends', async () => {
    const r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 1_500 } } });
    try {
      const res = await r.queue.enqueue(request('U1'));
      if (!res.ok) throw new Error('not queued');
      const id = res.generations[0]!.id;
      const worker = r.worker({ taskTimeoutMinutes: 0.005 }); // 300 ms
      await worker.start();
      const stuck = await waitFor('a stuck event', () => r.events.find((e) => e.kind === 'stuck'));
      expect(stuck).toMatchObject({ kind: 'stuck', generation: { id } });
      const [hold] = await rows<{ status: string }>(
        r.database.db,
        sql`select status from holds where generation_id = ${id}`,
      );
      expect(hold!.status).toBe('open');
      await waitFor('the slow job to end', async () => (await r.queue.get(id))?.state === 'succeeded');
      expect(r.events.filter((e) => e.kind === 'stuck')).toHaveLength(1);
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await r.close();
    }
  });
});

describe('embedded database', () => {
  it('runs on PGlite too (DATABASE_URL unset): claims, settles, balances', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    const sim = await startKlingSimulator({ apiKey: SIM_KEY, timings: { queuedMs: 5, processingMs: 10 } });
    try {
      const ledger = new Ledger(database.db, { defaultDailyLimitMc: mc(1_000_000) });
      const queue = new GenerationQueue(database.db, ledger, { maxQueuedPerUser: 10 });
      const res = await queue.enqueue([request('U1'), request('U2'), request('U1'), request('U2'), request('U3')]);
      expect(res.ok).toBe(true);
      const worker = new Worker(database.db, ledger, klingClient(sim), {
        ...FAST,
        maxConcurrency: 2,
        taskTimeoutMinutes: 10,
      });
      await worker.start();
      await waitFor('every job to end', () => allEnded(database.db));
      await worker.stop();
      expect(await states(database.db)).toEqual({ succeeded: 5 });
      expect(sim.inFlightPeak()).toBeLessThanOrEqual(2);
      expect(await settlementProblems(database.db)).toEqual([]);
    } finally {
      await sim.close();
      await database.close();
    }
  });
});

describe('Worker recovery at start', () => {
  it('resolves submitting jobs by external_task_id, resumes polling, settles ended jobs with open holds', async () => {
    const r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 10 } } });
    try {
      const res = await r.queue.enqueue([
        request('U1', 'landed'),
        request('U1', 'lost'),
        request('U1', 'polling'),
        request('U1', 'ended'),
      ]);
      if (!res.ok) throw new Error('not queued');
      const [landed, lost, polling, ended] = res.generations.map((g) => g.id) as [string, string, string, string];
      const kling = new KlingClient({ baseUrl: r.sim.url, auth: { apiKey: SIM_KEY }, retries: 0 });
      const body = (await r.queue.get(landed))!.request;
      // A worker died after its create reached Kling but before it recorded `submitted`:
      await kling.create('text2video', { ...body, external_task_id: landed });
      // ... another died after marking `submitting`, before its create left the process:
      // ... a third was polling a task it had recorded (leased by the worker that now restarts):
      const task = await kling.create('text2video', {
        ...(await r.queue.get(polling))!.request,
        external_task_id: polling,
      });
      await r.database.db.execute(
        sql`update generations set state = 'submitting', attempts = 1, submitted_at = now(), leased_by = 'w1', next_attempt_at = now() + interval '1 hour' where id in (${landed}, ${lost})`,
      );
      await r.database.db.execute(
        sql`update generations set state = 'submitted', kling_task_id = ${task.taskId}, attempts = 1, submitted_at = now(), leased_by = 'w1', next_attempt_at = now() + interval '1 hour' where id = ${polling}`,
      );
      // ... and one ended as succeeded by a version that did not settle.
      await r.database.db.execute(
        sql`update generations set state = 'succeeded', actual_mc = 1400, ended_at = now() where id = ${ended}`,
      );

      const worker = r.worker({ workerId: 'w1' }); // same id: its previous life's leases are taken back at once
      await worker.start();
      await waitFor('every job to end', () => allEnded(r.database.db));
      await worker.stop();

      expect(await states(r.database.db)).toEqual({ succeeded: 4 });
      expect(duplicates(r)).toEqual([]);
      const creates = createOrder(r);
      expect(creates.filter((id) => id === landed)).toHaveLength(1); // looked up, not created again
      expect(creates.filter((id) => id === lost)).toHaveLength(1); // not found at Kling, so created once
      expect((await r.queue.get(lost))?.attempts).toBe(2);
      const [settled] = await rows<{ status: string; actual_mc: number }>(
        r.database.db,
        sql`select status, actual_mc from holds where generation_id = ${ended}`,
      );
      expect(settled).toEqual({ status: 'committed', actual_mc: 1400 });
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it("another worker takes over a dead worker's jobs once its lease runs out", async () => {
    const r = await rig();
    try {
      const res = await r.queue.enqueue(request('U1'));
      if (!res.ok) throw new Error('not queued');
      const id = res.generations[0]!.id;
      await r.database.db.execute(
        sql`update generations set state = 'submitting', attempts = 1, submitted_at = now(), leased_by = 'dead', next_attempt_at = now() + interval '300 milliseconds' where id = ${id}`,
      );
      const worker = r.worker({ workerId: 'alive' });
      await worker.start();
      await waitFor('the job', async () => (await r.queue.get(id))?.state === 'succeeded');
      expect(createOrder(r)).toEqual([id]);
    } finally {
      await r.close();
    }
  });
});

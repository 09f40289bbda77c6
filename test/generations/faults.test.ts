import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import type { FaultSpec } from '../../src/dev/kling-sim';
import type { Generation, Worker } from '../../src/generations';
import { KLING_CODES } from '../../src/kling';
import { TEAM, jobEvents, request, rig, settlementProblems, waitFor, type Rig } from './support';

/** Each fault the simulator can inject, and the action kling/errors.ts gives it. One worker, one job at a time. */
describe('Kling faults → their actions', () => {
  let r: Rig;
  let worker: Worker;
  beforeAll(async () => {
    r = await rig({ sim: { timings: { queuedMs: 5, processingMs: 10 } } });
    worker = r.worker({ maxConcurrency: 3, maxAttempts: 3 });
    await worker.start();
  });
  afterAll(async () => r?.close());
  beforeEach(() => {
    r.sim.clearFaults();
    r.events.length = 0;
  });

  async function run(fault: FaultSpec | undefined, count = 1): Promise<Generation[]> {
    if (fault) r.sim.fault(fault);
    const res = await r.queue.enqueue(Array.from({ length: count }, () => request('U1')));
    if (!res.ok) throw new Error('not queued');
    worker.wake();
    const ids = res.generations.map((g) => g.id);
    // Ended in the database and announced: the event follows the commit, so both are awaited.
    const ended = (state: string) => ['succeeded', 'failed'].includes(state);
    return waitFor('the jobs to end', async () => {
      const jobs = await Promise.all(ids.map((id) => r.queue.get(id)));
      const announced = ids.every((id) => jobEvents(r.events, id).some((g) => ended(g.state)));
      return announced && jobs.every((j) => j && ended(j.state)) && (jobs as Generation[]);
    });
  }
  const creates = (id: string) =>
    r.sim.requests.filter(
      (q) => q.method === 'POST' && (q.body as { external_task_id?: string })?.external_task_id === id,
    ).length;
  const tasks = (id: string) => r.sim.tasks().filter((t) => t.externalTaskId === id).length;
  const lookups = (id: string) =>
    r.sim.requests.filter((q) => q.method === 'GET' && q.path.includes(`external_task_id=${id}`)).length;
  const hold = async (id: string) =>
    (await rows<{ status: string }>(r.database.db, sql`select status from holds where generation_id = ${id}`))[0]!
      .status;

  describe('retry: an unclear create is looked up by external_task_id before anything is sent again', () => {
    it.each<[string, FaultSpec]>([
      ['HTTP 502 from a gateway', { kind: 'http5xx', method: 'POST' }],
      ['code 5000', { kind: 'code', code: 5000, method: 'POST' }],
      ['code 5001', { kind: 'code', code: 5001, method: 'POST' }],
      ['a hung create (timeout, nothing created)', { kind: 'hang', method: 'POST' }],
      // Kling gets the slow create only after our lookup, so it is created anew; the late original then meets the
      // duplicate external_task_id and is refused: still one task.
      ['a create slower than the client timeout', { kind: 'slow', method: 'POST', delayMs: 2_000 }],
    ])('%s: not found at Kling, so created once more; the hold kept and committed', async (_name, fault) => {
      const [job] = await run(fault);
      expect(job!.state).toBe('succeeded');
      expect(job!.attempts).toBeGreaterThanOrEqual(2); // 2, or more if a loaded machine timed out a call too
      expect(lookups(job!.id)).toBeGreaterThanOrEqual(1);
      if (fault.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.delayMs)); // the late original lands
      expect(tasks(job!.id)).toBe(1);
      expect(await hold(job!.id)).toBe('committed');
    });

    it.each<[string, FaultSpec]>([
      ['a dropped connection after Kling created it', { kind: 'drop', method: 'POST' }],
      ['an accepted create whose answer never comes', { kind: 'accept-then-timeout' }],
      ['a garbled answer to a create that worked', { kind: 'malformed', method: 'POST' }],
    ])('%s: found by external_task_id, never created twice', async (_name, fault) => {
      const [job] = await run(fault);
      expect(job!.state).toBe('succeeded');
      expect(creates(job!.id)).toBe(1);
      expect(tasks(job!.id)).toBe(1);
      expect(lookups(job!.id)).toBeGreaterThanOrEqual(1);
      expect(await hold(job!.id)).toBe('committed');
    });

    it.each([1302, 1303])(
      'code %i (busy): back to the queue with its hold, retried, and the try does not count',
      async (code) => {
        const [job] = await run({ kind: 'code', code, method: 'POST', times: 2 });
        expect(job!.state).toBe('succeeded');
        expect(job!.attempts).toBe(1);
        const seen = jobEvents(r.events, job!.id).map((g) => `${g.state}${g.errorCode ? `:${g.errorCode}` : ''}`);
        expect(seen).toEqual(expect.arrayContaining(['submitting', `queued:${code}`, 'succeeded']));
        expect(await hold(job!.id)).toBe('committed');
      },
    );

    it.each<[string, FaultSpec]>([
      ['slow answers to polls (client timeout)', { kind: 'slow', method: 'GET', delayMs: 2_000, times: 2 }],
      ['5xx answers to polls', { kind: 'http5xx', method: 'GET', times: 3 }],
      ['garbled answers to polls', { kind: 'malformed', method: 'GET', times: 2 }],
    ])('%s: polling goes on, the hold stays until the end', async (_name, fault) => {
      const [job] = await run(fault);
      expect(job!.state).toBe('succeeded');
      expect(creates(job!.id)).toBe(1);
      expect(await hold(job!.id)).toBe('committed');
    });

    it('a create that keeps failing ends the job after maxAttempts, released, with the reason', async () => {
      const [job] = await run({ kind: 'http5xx', method: 'POST', times: Infinity });
      expect(job!.state).toBe('failed');
      expect(job!.errorMessage).toMatch(/^Kling did not take the task after 3 tries: .*HTTP 502/);
      expect(tasks(job!.id)).toBe(0);
      expect(await hold(job!.id)).toBe('released');
    });
  });

  describe("fail: the job fails, its hold is released, Kling's reason is kept", () => {
    it.each([1103, 1200, 1201, 1202, 1203, 1300, 1301, 1304])('code %i', async (code) => {
      const [job] = await run({ kind: 'code', code, method: 'POST' });
      expect(job).toMatchObject({ state: 'failed', errorCode: code, errorMessage: KLING_CODES[code]!.meaning });
      expect(await hold(job!.id)).toBe('released');
      expect(r.events.some((e) => e.kind === 'kling-auth' || e.kind === 'queue-paused')).toBe(false);
    });

    it('content policy on create', async () => {
      const [job] = await run({ kind: 'policy' });
      expect(job).toMatchObject({
        state: 'failed',
        errorCode: 1301,
        errorMessage: 'Failure to pass the risk control system',
      });
      expect(await hold(job!.id)).toBe('released');
    });

    it('a task that ends failed: released (Kling charges nothing), task_status_msg shown', async () => {
      const [job] = await run({ kind: 'fail-task' });
      expect(job!.state).toBe('failed');
      expect(job!.errorMessage).toMatch(/content risk control/);
      expect(job!.klingTaskId).toBeTruthy();
      expect(job!.actualMc).toBeUndefined();
      expect(await hold(job!.id)).toBe('released');
    });
  });

  describe('an unreadable final_unit_deduction: the estimate is committed and the job ends', () => {
    it.each(['-1', '-0.5', 'n/a'])('final_unit_deduction %s', async (charge) => {
      r.sim.setCharge(charge);
      try {
        const [job] = await run(undefined);
        expect(job).toMatchObject({ state: 'succeeded', actualMc: job!.estimateMc });
        expect(await hold(job!.id)).toBe('committed');
      } finally {
        r.sim.setCharge(undefined);
      }
    });
  });

  describe('reauth', () => {
    it.each([1000, 1001, 1002, 1003, 1004])(
      'code %i that persists: the job fails and admins get one kling-auth alert',
      async (code) => {
        const [a, b] = await run({ kind: 'code', code, method: 'POST', times: 2 }, 2);
        for (const job of [a!, b!]) {
          expect(job).toMatchObject({ state: 'failed', errorCode: code });
          expect(await hold(job.id)).toBe('released');
        }
        const alerts = r.events.filter((e) => e.kind === 'kling-auth');
        expect(alerts).toEqual([{ kind: 'kling-auth', teamId: TEAM, message: KLING_CODES[code]!.meaning }]);
        expect(JSON.stringify(alerts)).not.toContain('queue-test-key');
        // A call that works again re-arms the alert.
        expect((await run(undefined))[0]!.state).toBe('succeeded');
      },
    );
  });

  describe('pause: the workspace queue stops, admins are told once, jobs stay queued with their holds', () => {
    it.each([1100, 1101, 1102])('code %i', async (code) => {
      r.sim.fault({ kind: 'code', code, method: 'POST', times: 2 });
      const res = await r.queue.enqueue([request('U1'), request('U2')]);
      if (!res.ok) throw new Error('not queued');
      worker.wake();
      const paused = await waitFor('the pause', () => r.events.find((e) => e.kind === 'queue-paused'));
      expect(paused).toEqual({ kind: 'queue-paused', teamId: TEAM, reason: KLING_CODES[code]!.meaning, code });
      await waitFor('both back in the queue', async () => {
        const jobs = await Promise.all(res.generations.map((g) => r.queue.get(g.id)));
        return jobs.every((j) => j?.state === 'queued');
      });
      const createsBefore = r.sim.requests.filter((q) => q.method === 'POST').length;
      // Let the worker loop many times: nothing is sent while the workspace is paused.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(r.sim.requests.filter((q) => q.method === 'POST').length).toBe(createsBefore);
      expect(r.events.filter((e) => e.kind === 'queue-paused')).toHaveLength(1);
      for (const g of res.generations) expect(await hold(g.id)).toBe('open');

      await worker.resume(TEAM);
      expect(r.events).toContainEqual({ kind: 'queue-resumed', teamId: TEAM });
      await waitFor('both to succeed after resume', async () => {
        const jobs = await Promise.all(res.generations.map((g) => r.queue.get(g.id)));
        return jobs.every((j) => j?.state === 'succeeded');
      });
    });

    it('an exhausted resource pack (real 1102 from the balance) pauses until an admin resumes', async () => {
      r.sim.setBalance(0);
      const res = await r.queue.enqueue(request('U1'));
      if (!res.ok) throw new Error('not queued');
      worker.wake();
      await waitFor('the pause', () => r.events.find((e) => e.kind === 'queue-paused' && e.code === 1102));
      r.sim.setBalance(1_000);
      await worker.resume(TEAM);
      await waitFor('the job', async () => (await r.queue.get(res.generations[0]!.id))?.state === 'succeeded');
    });
  });

  it('the ledger balances after all of it', async () => {
    expect(await settlementProblems(r.database.db)).toEqual([]);
  });
});

describe('Kling account concurrency below ours', () => {
  it('1303 from a busy account is retried with the hold kept; every job ends', async () => {
    const r = await rig({ sim: { concurrency: 1, timings: { queuedMs: 5, processingMs: 20 } } });
    try {
      const res = await r.queue.enqueue(Array.from({ length: 6 }, (_, i) => request(`U${i}`)));
      if (!res.ok) throw new Error('not queued');
      const worker = r.worker({ maxConcurrency: 3 });
      await worker.start();
      await waitFor('every job', async () =>
        (await Promise.all(res.generations.map((g) => r.queue.get(g.id)))).every((j) => j?.state === 'succeeded'),
      );
      expect(r.events.some((e) => e.kind === 'job' && e.generation.errorCode === 1303)).toBe(true);
      expect(r.sim.inFlightPeak()).toBe(1);
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await r.close();
    }
  });
});

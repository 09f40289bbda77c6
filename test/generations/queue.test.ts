import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { GenerationError } from '../../src/generations';
import * as store from '../../src/generations/store';
import { builtInCatalog } from '../../src/pricing';
import { TEAM, request, rig, settlementProblems, type Rig } from './support';
import { mc } from '../../src/money/credits';

/** The queue side: holds and rows in one transaction, the per-user cap, cancel, duplicates. */
describe('GenerationQueue', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig({ maxQueuedPerUser: 5, max: 30 });
  });
  afterAll(async () => r?.close());

  const holdsOf = async (ids: string[]) =>
    rows<{ generation_id: string; status: string; amount_mc: number }>(
      r.database.db,
      sql`select generation_id, status, amount_mc from holds where generation_id = any(${`{${ids.join(',')}}`}::text[])`,
    );

  it('queues a job with its hold in one go; the id is a kbb_ external_task_id', async () => {
    const res = await r.queue.enqueue(request('U-one'));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const [job] = res.generations;
    expect(job!.id).toMatch(/^kbb_[0-9a-f-]{36}$/);
    expect(job!.state).toBe('queued');
    expect(job!.estimateMc).toBe(1500);
    const holds = await holdsOf([job!.id]);
    expect(holds).toEqual([{ generation_id: job!.id, status: 'open', amount_mc: 1500 }]);
    expect((await r.queue.get(job!.id))?.holdId).toBe(job!.holdId);
  });

  it('refuses a batch over budget whole: no hold, no queued job, the refusal recorded as refused', async () => {
    await r.ledger.setBudget({
      teamId: TEAM,
      scope: 'user',
      scopeId: 'U-poor',
      period: 'day',
      limitMc: mc(4_000),
      by: 'admin',
    });
    const res = await r.queue.enqueue([request('U-poor'), request('U-poor'), request('U-poor')]);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect('budget' in res.refusal && res.refusal.budget.scope).toBe('user');
    const jobs = await r.queue.history(TEAM, 'U-poor');
    expect(jobs.map((j) => j.state)).toEqual(['refused', 'refused', 'refused']);
    expect(jobs[0]!.errorMessage).toMatch(/user day budget has 4 credits left and this needs 4.5/);
    expect(await holdsOf(jobs.map((j) => j.id))).toEqual([]);
    // Two fit: both are held and queued, in one batch.
    const two = await r.queue.enqueue([request('U-poor'), request('U-poor')]);
    expect(two.ok).toBe(true);
    if (two.ok) expect(new Set(two.generations.map((g) => g.batchId)).size).toBe(1);
  });

  it('rolls the holds back when the rows cannot be written (no hold without a job)', async () => {
    const bad = request('U-rollback');
    // A request the database refuses (a NUL byte in jsonb text) makes the insert fail after the reserve.
    bad.quote = {
      ...bad.quote,
      request: { ...bad.quote.request, body: { ...bad.quote.request.body, prompt: 'nul \u0000 byte' } },
    };
    await expect(r.queue.enqueue([request('U-rollback'), bad])).rejects.toThrow();
    const [open] = await rows<{ n: number }>(
      r.database.db,
      sql`select count(*)::int as n from holds where user_id = 'U-rollback'`,
    );
    expect(open!.n).toBe(0);
    expect(await r.queue.history(TEAM, 'U-rollback')).toEqual([]);
  });

  it('caps queued jobs per person, even when many enqueue at once', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => r.queue.enqueue(request('U-busy'))));
    const accepted = results.filter((x) => x.ok).length;
    expect(accepted).toBe(5);
    const refused = results.find((x) => !x.ok);
    expect(refused && !refused.ok && refused.refusal).toEqual({ kind: 'user-queue-full', limit: 5 });
    // A batch that would cross the cap is refused whole.
    const batch = await r.queue.enqueue([
      request('U-batch'),
      request('U-batch'),
      request('U-batch'),
      request('U-batch'),
      request('U-batch'),
      request('U-batch'),
    ]);
    expect(batch.ok).toBe(false);
    expect(await r.queue.history(TEAM, 'U-batch')).toEqual([]);
    expect(await settlementProblems(r.database.db)).toEqual([]);
  });

  it('cancels only before submission, releasing the hold', async () => {
    const res = await r.queue.enqueue(request('U-cancel'));
    if (!res.ok) throw new Error('not queued');
    const id = res.generations[0]!.id;
    const cancelled = await r.queue.cancel(id, 'U-cancel');
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.endedAt).toBeInstanceOf(Date);
    expect((await holdsOf([id]))[0]!.status).toBe('released');
    await expect(r.queue.cancel(id, 'U-cancel')).rejects.toMatchObject({ reason: 'not_cancellable' });
    await expect(r.queue.cancel('kbb_nope', 'U-cancel')).rejects.toBeInstanceOf(GenerationError);

    const next = await r.queue.enqueue(request('U-cancel'));
    if (!next.ok) throw new Error('not queued');
    await r.database.db.execute(sql`update generations set state = 'submitted' where id = ${next.generations[0]!.id}`);
    await expect(r.queue.cancel(next.generations[0]!.id, 'U-cancel')).rejects.toThrow(
      /Kling is already making it; only a video still waiting in the queue can be/,
    );
    expect((await holdsOf([next.generations[0]!.id]))[0]!.status).toBe('open');
  });

  it('finds a succeeded duplicate of the same normalized request within the retention window', async () => {
    const res = await r.queue.enqueue(request('U-dup', 'a red  fox\tin snow '));
    if (!res.ok) throw new Error('not queued');
    const id = res.generations[0]!.id;
    const same = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'a red fox in snow', model_name: 'kling-v2-5-turbo', mode: 'std' },
    }).request;
    expect(await r.queue.findSucceededDuplicate(TEAM, same)).toBeUndefined(); // not succeeded yet
    await r.database.db.execute(sql`update generations set state = 'succeeded', ended_at = now() where id = ${id}`);
    expect((await r.queue.findSucceededDuplicate(TEAM, same))?.id).toBe(id);
    // Any priced parameter differing makes it another request; so does another team.
    const pro = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'a red fox in snow', model_name: 'kling-v2-5-turbo', mode: 'pro' },
    }).request;
    expect(await r.queue.findSucceededDuplicate(TEAM, pro)).toBeUndefined();
    expect(await r.queue.findSucceededDuplicate('T-other', same)).toBeUndefined();
    // Past Kling's 30-day retention it no longer counts.
    await r.database.db.execute(sql`update generations set ended_at = now() - interval '31 days' where id = ${id}`);
    expect(await r.queue.findSucceededDuplicate(TEAM, same)).toBeUndefined();
  });

  it('records the job card and lists history newest first', async () => {
    const a = await r.queue.enqueue(request('U-hist', 'first'));
    const b = await r.queue.enqueue(request('U-hist', 'second'));
    if (!a.ok || !b.ok) throw new Error('not queued');
    await r.queue.setCard(a.generations[0]!.id, 'C9', '1700000000.000100');
    const history = await r.queue.history(TEAM, 'U-hist');
    expect(history.map((g) => g.request.prompt)).toEqual(['second', 'first']);
    expect(history[1]).toMatchObject({ cardChannelId: 'C9', cardTs: '1700000000.000100' });
    await expect(r.queue.setCard('kbb_nope', 'C9', '1')).rejects.toMatchObject({ reason: 'not_found' });
  });

  describe('short ids', () => {
    const row = (teamId: string, uuid: string) => ({
      id: `kbb_${uuid}`,
      teamId,
      channelId: 'C1',
      userId: 'U-short',
      endpoint: 'text2video' as const,
      request: { prompt: 'a fox' },
      requestKey: `k-${uuid}`,
      estimateMc: mc(1_000),
    });

    it('each job gets the shortest unused prefix of its uuid, also within one insert', async () => {
      const found = await store.insert(r.database.db, [
        row('T-short', '2fc2eec4-4931-432f-9ff0-13bf1468c19d'),
        row('T-short', '2fc2eec5-0000-432f-9ff0-13bf1468c19d'),
        row('T-short', '2fc2aaaa-0000-432f-9ff0-13bf1468c19d'),
        row('T-other', '2fc2eec4-4931-432f-9ff0-000000000000'),
      ]);
      expect(found.map((g) => g.shortId)).toEqual(['2FC2', '2FC2E', '2FC2A', '2FC2']);
      const batch = await r.queue.enqueue(Array.from({ length: 12 }, (_, i) => request(`U-batch${i % 3}`)));
      if (!batch.ok) throw new Error('not queued');
      const ids = batch.generations.map((g) => g.shortId);
      expect(new Set(ids).size).toBe(12);
      for (const g of batch.generations) expect(g.id.replace(/-/g, '').toUpperCase()).toContain(g.shortId);
    });

    it('a job is found by #short id, short id, full id or any unambiguous prefix; an ambiguous one lists them', async () => {
      const ids = async (ref: string) => (await r.queue.find('T-short', ref)).map((g) => g.shortId).sort();
      expect(await ids('#2FC2')).toEqual(['2FC2']);
      expect(await ids('2fc2e')).toEqual(['2FC2E']);
      expect(await ids('kbb_2fc2aaaa-0000-432f-9ff0-13bf1468c19d')).toEqual(['2FC2A']);
      expect(await ids('2FC2EEC5')).toEqual(['2FC2E']);
      expect(await ids('kbb_2fc2a')).toEqual(['2FC2A']);
      expect(await ids('2fc')).toEqual(['2FC2', '2FC2A', '2FC2E']);
      expect(await ids('%')).toEqual([]);
      expect(await ids('#')).toEqual([]);
    });
  });
});

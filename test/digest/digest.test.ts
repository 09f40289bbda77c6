import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rows, sql, type Database } from '../../src/db/index';
import { Ledger } from '../../src/budget/index';
import { builtInCatalog } from '../../src/pricing/index';
import { DigestService, DigestStore, dayOf, daysEndingWith, type DigestServiceOptions } from '../../src/digest/index';
import { validateBlocks } from '../../src/dev/slack-workspace/index';
import { digestMessage } from '../../src/slack/blocks/digest';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { Clock, RecordingPoster, job, textOf } from './fixtures';
import { creditCount } from '../../src/slack/blocks/format';
import { mc } from '../../src/money/credits';

const TZ = 'Europe/Berlin';
let database: TestDatabase;
let team = 0;

beforeAll(async () => {
  database = await createTestDatabase({ max: 10 });
});
afterAll(async () => {
  await database?.drop();
});

/** A workspace of its own in Berlin with an alerts channel, a ledger and a digest service on the same clock. */
async function workspace(clockAt: string, options: Partial<DigestServiceOptions> = {}) {
  const teamId = `T${++team}`;
  const clock = new Clock(new Date(clockAt));
  const ledger = new Ledger(database.db, { now: clock.now, defaultTimezone: TZ, defaultDailyLimitMc: mc(1_000_000) });
  await ledger.ensureWorkspace(teamId);
  const channelId = `CALERTS-${teamId}`;
  await ledger.setAlertsChannel(teamId, channelId, { by: 'UADMIN' });
  const poster = new RecordingPoster(channelId);
  const posts = () => poster.posts;
  const digest = (replicaId = 'r1', db = database.db) =>
    new DigestService(db, ledger, poster, {
      cron: '0 9 * * *',
      creditPriceUsd: 0.14,
      replicaId,
      now: clock.now,
      catalog: builtInCatalog,
      ...options,
    });
  return { teamId, clock, ledger, poster, posts, digest, channelId };
}

const store = () => new DigestStore(database.db);

describe('the day a digest reports on', () => {
  it('counts a hold in the local day it was taken, across the spring DST change in Berlin', async () => {
    const w = await workspace('2026-03-28T22:59:00Z');
    // 23:59 CET on the 28th, 00:01 CET and 23:59 CEST on the 29th (a 23-hour day), 00:01 CEST on the 30th.
    for (const at of ['2026-03-28T22:59:00Z', '2026-03-28T23:01:00Z', '2026-03-29T21:59:00Z', '2026-03-29T22:01:00Z']) {
      w.clock.set(at);
      await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    }
    const price = builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'x' } }).priceMc;
    const day = dayOf(new Date('2026-03-29T12:00:00Z'), TZ);
    const totals = await store().ledger.totals(w.teamId, day);
    expect(totals.committedCount).toBe(2);
    expect(totals.committedMc).toBe(2 * price);
    const trend = await store().ledger.trend(
      w.teamId,
      daysEndingWith(dayOf(new Date('2026-03-30T12:00:00Z'), TZ), TZ, 3),
    );
    expect(trend.map((p) => [p.date, p.committedMc])).toEqual([
      ['2026-03-28', price],
      ['2026-03-29', 2 * price],
      ['2026-03-30', price],
    ]);

    // Posted at 09:00 CEST on the 30th (07:00 UTC), the digest is the 29th's.
    w.clock.set('2026-03-30T07:00:05Z');
    await w.digest().tick();
    expect(w.posts()).toHaveLength(1);
    expect(w.posts()[0]!.message.text).toContain('Sun 29 Mar 2026');
    expect(w.posts()[0]!.message.text).toContain(`${(2 * price) / 1000} credits`);
  });

  it('closes the periods that ended and leaves an open hold held in its own period', async () => {
    const w = await workspace('2026-11-23T15:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    const open = await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U2', outcome: 'open' });
    const [budget] = await w.ledger.budgets(w.teamId);
    const before = await w.ledger.usage(budget!.id, w.clock.at);

    w.clock.set('2026-11-24T08:00:10Z');
    await w.digest().tick();
    const periods = await rows<{ period_start: string; closed_at: string | null; charged_mc: number }>(
      database.db,
      sql`
      select period_start, closed_at, charged_mc from budget_periods where budget_id = ${budget!.id} order by period_start`,
    );
    expect(periods).toHaveLength(1);
    expect(periods[0]!.closed_at).not.toBeNull();
    expect(periods[0]!.charged_mc).toBe(before.chargedMc);

    const posted = textOf(w.posts()[0]!.message);
    expect(posted).toContain(`*Held* ${creditCount(open.estimateMc)} (`);
    expect(posted).toContain('period closed');
    // Still held in Monday's period the next day.
    const after = await w.ledger.usage(budget!.id, new Date('2026-11-23T15:00:00Z'));
    expect(after.heldMc).toBe(open.estimateMc);
  });
});

describe('once per workspace and day', () => {
  it('of five replicas racing, one posts', async () => {
    const w = await workspace('2026-11-23T12:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    // Each replica with its own pool, like separate processes.
    const pools: Database[] = await Promise.all(
      [1, 2, 3, 4, 5].map(() => openDatabase({ url: database.url, max: 2, migrate: false })),
    );
    try {
      const replicas = pools.map((p, i) => w.digest(`replica-${i}`, p.db));
      for (let round = 0; round < 3; round++) await Promise.all(replicas.map((r) => r.tick()));
      expect(w.posts()).toHaveLength(1);
      const [run] = await rows<{ attempts: number; posted_at: string | null; outcome: string }>(
        database.db,
        sql`
        select attempts, posted_at, outcome from digest_runs where team_id = ${w.teamId}`,
      );
      expect(run).toMatchObject({ attempts: 1, outcome: 'posted' });
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('down at 09:00 and up at 11:00: the missed digest is posted once on start', async () => {
    const w = await workspace('2026-11-23T12:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T10:00:00Z'); // 11:00 in Berlin
    const first = w.digest('a');
    const second = w.digest('b');
    try {
      await first.start();
      await second.start();
      await first.tick();
      expect(w.posts()).toHaveLength(1);
      expect(w.posts()[0]!.message.text).toContain('Mon 23 Nov 2026');
      // The cron job runs in the workspace's timezone: next at 09:00 Berlin = 08:00 UTC.
      const schedule = first.schedules().find((s) => s.timezone === TZ);
      expect(schedule?.next?.toISOString().slice(11, 16)).toBe('08:00');
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('a failed post is tried again after the retry delay, and posted once', async () => {
    const w = await workspace('2026-11-23T12:00:00Z', { retryMs: 60_000 });
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    w.poster.failNext = 1;
    const a = w.digest('a');
    const b = w.digest('b');
    await a.tick();
    expect(w.posts()).toHaveLength(0);
    const [failed] = await rows<{ last_error: string }>(
      database.db,
      sql`select last_error from digest_runs where team_id = ${w.teamId}`,
    );
    expect(failed!.last_error).toContain('internal_error');
    await b.tick(); // too early for the retry
    expect(w.posts()).toHaveLength(0);
    w.clock.advance(61_000);
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([a.tick(), b.tick()]);
    expect(w.posts()).toHaveLength(1);
    await a.stop();
    await b.stop();
  });

  it('gives up after the last attempt instead of retrying forever', async () => {
    const w = await workspace('2026-11-23T12:00:00Z', { retryMs: 1, maxAttempts: 2 });
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    w.poster.failNext = 5;
    const a = w.digest();
    for (let i = 0; i < 4; i++) {
      w.clock.advance(1000);
      await a.tick();
    }
    expect(w.poster.failNext).toBe(3);
    await a.stop();
  });

  it('posts the trend as text when the workspace refuses the chart upload', async () => {
    const w = await workspace('2026-11-23T12:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    w.poster.refuseUploads = true;
    await w.digest().tick();
    expect(w.posts()).toHaveLength(1);
    expect(w.posts()[0]!.chart).toBeUndefined();
    expect(w.posts()[0]!.content.chart).toBe(false);
    expect(textOf(w.posts()[0]!.message)).toMatch(/Last 7 days\* [▁▂▃▄▅▆▇█]{7} /);
  });

  it('posts a real PNG chart with the digest', async () => {
    const w = await workspace('2026-11-20T12:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-23T12:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'failed' });
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    await w.digest().tick();
    const chart = w.posts()[0]!.chart!;
    expect(chart.filename).toBe('kling-digest-2026-11-23.png');
    expect([...chart.png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(chart.png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect([chart.png.readUInt32BE(16), chart.png.readUInt32BE(20)]).toEqual([800, 400]);
    expect(textOf(w.posts()[0]!.message)).toContain('the chart is attached');
  });

  it('an empty day posts nothing and is not tried again', async () => {
    const w = await workspace('2026-11-24T08:00:00Z');
    const d = w.digest();
    await d.tick();
    await d.tick();
    expect(w.posts()).toHaveLength(0);
    const [run] = await rows<{ outcome: string }>(
      database.db,
      sql`select outcome from digest_runs where team_id = ${w.teamId}`,
    );
    expect(run!.outcome).toBe('empty');
  });
});

describe('what the digest says', () => {
  it('its numbers are the ledger’s', async () => {
    const w = await workspace('2026-11-23T09:00:00Z');
    const outcomes = ['succeeded', 'succeeded', 'failed', 'cancelled', 'open', 'succeeded'] as const;
    const users = ['U1', 'U2', 'U3'];
    const pro10 = { model_name: 'kling-v2-6', mode: 'pro', duration: '10' };
    for (let i = 0; i < 18; i++) {
      w.clock.advance(60_000);
      await job(database.db, w.ledger, w.teamId, w.clock, {
        userId: users[i % 3]!,
        outcome: outcomes[i % 6]!,
        body: i % 2 ? pro10 : {},
        actualMc: i % 6 === 5 ? 1234 : undefined,
        tookSeconds: 60 + i,
      });
    }
    const [budget] = await w.ledger.budgets(w.teamId);
    const usage = await w.ledger.usage(budget!.id, w.clock.at);
    w.clock.set('2026-11-24T08:00:00Z');
    const day = dayOf(new Date('2026-11-23T12:00:00Z'), TZ);
    const s = store();
    const [line] = await s.ledger.budgetLines(w.teamId, {
      day: day.start,
      week: new Date('2026-11-22T23:00:00Z'),
      month: new Date('2026-10-31T23:00:00Z'),
    });
    expect(line).toMatchObject({
      budgetId: budget!.id,
      committedMc: usage.committedMc,
      heldMc: usage.heldMc,
      limitMc: usage.limitMc,
    });
    const totals = await s.ledger.totals(w.teamId, day);
    expect(totals.committedMc).toBe(usage.committedMc);
    expect(totals.heldMc).toBe(usage.heldMc);
    const released = await rows<{ sum: number }>(
      database.db,
      sql`
      select coalesce(sum(amount_mc), 0) as sum from ledger_entries where budget_id = ${budget!.id} and kind = 'release'`,
    );
    expect(totals.refundedMc).toBe(Number(released[0]!.sum));
    const people = await s.ledger.people(w.teamId, day);
    expect(people.reduce((sum, p) => sum + p.committedMc, 0)).toBe(usage.committedMc);
    const models = await s.models(w.teamId, day);
    expect(models.reduce((sum, m) => sum + m.committedMc, 0)).toBe(usage.committedMc);
    expect(models.reduce((sum, m) => sum + m.videos, 0)).toBe(9);
    const videos = await s.videos(w.teamId, day);
    expect(videos).toMatchObject({ succeeded: 9, failed: 3, cancelled: 3, unfinished: 3 });
    // Succeeded jobs i = 0,1,5,6,7,11,12,13,17 took 60 + i seconds: the median is 67 s.
    expect(videos.medianSeconds).toBe(67);

    await w.digest().tick();
    const message = w.posts()[0]!.message;
    expect(message.text).toContain(`${usage.committedMc / 1000} credits`);
    expect(textOf(message)).toContain('9 succeeded · 3 failed · 3 cancelled');
    expect(textOf(message)).toContain('median time to video 1 min 7 s');
  });

  it('savings advice is priced with the catalog on the day’s real jobs', async () => {
    const w = await workspace('2026-11-23T09:00:00Z');
    const pro10audio = { model_name: 'kling-v2-6', mode: 'pro', duration: '10', sound: 'on' };
    const pro10 = { model_name: 'kling-v2-5-turbo', mode: 'pro', duration: '10' };
    // U1 drafts the same prompt three times in pro 10 s with audio; U2 drafts twice in pro 10 s.
    for (let i = 0; i < 3; i++) {
      w.clock.advance(60_000);
      await job(database.db, w.ledger, w.teamId, w.clock, {
        userId: 'U1',
        outcome: 'succeeded',
        tookSeconds: 30,
        body: { ...pro10audio, prompt: 'cat' },
      });
    }
    for (let i = 0; i < 2; i++) {
      w.clock.advance(60_000);
      await job(database.db, w.ledger, w.teamId, w.clock, {
        userId: 'U2',
        outcome: 'succeeded',
        tookSeconds: 30,
        body: { ...pro10, prompt: 'dog' },
      });
    }
    const quote = (body: Record<string, unknown>) =>
      builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'p', ...body } }).priceMc;
    w.clock.set('2026-11-24T08:00:00Z');
    const d = w.digest();
    await d.tick();
    const text = textOf(w.posts()[0]!.message);

    // Drafts = all but the last of each prompt: two of U1's, one of U2's.
    // kling-v2-6 pro with audio has no std variant (Kling does not offer std audio), so only U2's draft counts for std.
    const std = quote(pro10) - quote({ ...pro10, mode: 'std' });
    expect(text).toContain(
      `1 draft made in pro/4k and redone later: drafting in std would have saved *${std / 1000} credits`,
    );
    const short =
      2 * (quote(pro10audio) - quote({ ...pro10audio, duration: '5' })) +
      (quote(pro10) - quote({ ...pro10, duration: '5' }));
    // Kling extends neither kling-v2-6 nor kling-v2-5-turbo: no "then extend" for them.
    expect(text).toContain(
      `3 drafts of 10 s redone later (Kling does not extend this model): 5 s drafts before the 10 s keeper would have saved *${short / 1000} credits`,
    );
    expect(text).not.toContain('extended once it is the keeper');
    const audio = 3 * (quote(pro10audio) - quote({ ...pro10audio, sound: 'off' }));
    expect(text).toContain(
      `3 videos with audio: leaving it off where the clip needs no sound saves up to *${audio / 1000} credits`,
    );
    // Each person's jobs share one request: every one after the first repeats one that had already succeeded.
    expect(text).toContain(
      `3 videos repeated a request that had already succeeded: reusing the earlier video would have saved *${(2 * quote(pro10audio) + quote(pro10)) / 1000} credits`,
    );
    await d.stop();
  });

  it('stays within Block Kit limits with 1,000 people', async () => {
    const w = await workspace('2026-11-23T09:00:00Z');
    // 1,000 people's jobs straight through SQL (the ledger's own path is measured in the bench).
    await rows(
      database.db,
      sql`
      insert into holds (team_id, user_id, channel_id, amount_mc, status, actual_mc, created_at)
      select ${w.teamId}, 'U' || lpad(i::text, 5, '0'), 'C1', 1500, 'committed', 1000 + i, '2026-11-23T09:00:00Z'::timestamptz + i * interval '1 second'
      from generate_series(1, 1000) i`,
    );
    w.clock.set('2026-11-24T08:00:00Z');
    const d = w.digest();
    const preview = digestMessage(await d.preview(w.teamId));
    expect(preview.blocks.length).toBeLessThanOrEqual(50);
    // The offline workspace rejects what Slack rejects.
    expect(validateBlocks(preview.blocks, 'message')).toBeUndefined();
    for (const block of preview.blocks as { type: string; text?: { text: string } }[]) {
      if (block.type === 'section') expect(block.text!.text.length).toBeLessThanOrEqual(3000);
      if (block.type === 'header') expect(block.text!.text.length).toBeLessThanOrEqual(150);
    }
    const people = JSON.stringify(preview.blocks);
    expect(people).toContain('1. *U01000*'); // no names given: shown by id, never @-mentioned
    expect(people).toContain('10. *U00991*');
    expect(people).toContain('…and 990 other people');
    expect(preview.text).toContain('1,500.5 credits');
    // Preview never posts and draws the trend as text.
    expect(w.posts()).toHaveLength(0);
    expect(people).toMatch(/ [▁▂▃▄▅▆▇█]{7} /);
  });

  it('postNow posts yesterday’s digest on demand, even when the daily one went out', async () => {
    const w = await workspace('2026-11-23T09:00:00Z');
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    w.clock.set('2026-11-24T08:00:00Z');
    const d = w.digest();
    await d.tick();
    await d.postNow(w.teamId);
    expect(w.posts()).toHaveLength(2);
    expect(w.posts().map((p) => p.message.text)).toEqual([w.posts()[0]!.message.text, w.posts()[0]!.message.text]);
  });

  it('escapes text that came from a request', async () => {
    const w = await workspace('2026-11-23T09:00:00Z');
    await rows(
      database.db,
      sql`
      insert into generations (id, team_id, channel_id, user_id, endpoint, request, request_key, estimate_mc, state, created_at)
      values ('g-esc', ${w.teamId}, 'C1', 'U1', 'text2video', '{"model_name": "<!channel>", "prompt": "x"}'::jsonb, 'k', 1000, 'failed', '2026-11-23T10:00:00Z')`,
    );
    w.clock.set('2026-11-24T08:00:00Z');
    const preview = digestMessage(await w.digest().preview(w.teamId));
    expect(JSON.stringify(preview.blocks)).not.toContain('<!channel>');
    expect(JSON.stringify(preview.blocks)).toContain('&lt;!channel&gt;');
  });
});

describe('the preview', () => {
  it('says which day it shows, and shows today so far, a past date, and no day to come', async () => {
    const w = await workspace('2026-11-24T10:00:00Z'); // 11:00 in Berlin
    await job(database.db, w.ledger, w.teamId, w.clock, { userId: 'U1', outcome: 'succeeded' });
    const price = builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'x' } }).priceMc;
    const d = w.digest();

    const yesterday = textOf(digestMessage(await d.preview(w.teamId)));
    expect(yesterday).toContain('Preview of yesterday, Mon 23 Nov 2026');
    expect(yesterday).toContain('`/kling digest preview today` shows today so far');

    const today = digestMessage(await d.preview(w.teamId, 'today'));
    expect(textOf(today)).toContain('Preview of today so far, Tue 24 Nov 2026');
    expect(today.text).toContain(`${creditCount(price)}`);
    expect(validateBlocks(today.blocks, 'message')).toBeUndefined();

    const dated = textOf(digestMessage(await d.preview(w.teamId, '2026-11-24')));
    expect(dated).toContain('Preview of Tue 24 Nov 2026');
    await expect(d.preview(w.teamId, '2026-11-25')).rejects.toThrow('2026-11-25 has not happened yet');
    await expect(d.preview(w.teamId, '2026-02-31')).rejects.toThrow('2026-02-31 is not a date');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { openDatabase, type Database } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

let database: TestDatabase;
let replica: Database;
let teams = 0;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
  replica = await openDatabase({ url: database.url, max: 2 });
});
afterAll(async () => {
  await replica.close();
  expect(await checkInvariants(database.db)).toEqual([]);
  await database.drop();
});

const DEFAULTS = { factor: 3, minMc: mc(20_000) };
const DAY = 86_400_000;
const TODAY = Date.parse('2026-03-10T10:00:00Z'); // 11:00 in Berlin

/**
 * Two replicas' ledgers on a team in Berlin and fourteen days of history: U1 in C1 spends 5 credits a day
 * but two of the days (median 5), U2 in C2 spends 30 every day (median 30).
 */
async function setup() {
  const clock = { now: new Date(TODAY - 14 * DAY) };
  const options = { now: () => clock.now, defaultTimezone: 'Europe/Berlin', defaultDailyLimitMc: mc(1_000_000) };
  const ledger = new Ledger(database.db, options);
  const other = new Ledger(replica.db, options);
  const teamId = `TS${++teams}`;
  const spend = async (
    userId: string,
    channelId: string,
    amountMc: number,
    settle: 'commit' | 'release' | 'hold' = 'commit',
  ) => {
    const result = await ledger.reserve({ teamId, userId, channelId, amountMc: mc(amountMc) });
    if (!result.ok) throw new Error('refused');
    if (settle === 'commit') await ledger.commit(result.holds[0]!.id, mc(amountMc));
    if (settle === 'release') await ledger.release(result.holds[0]!.id, 'failed');
  };
  for (let back = 14; back >= 1; back--) {
    clock.now = new Date(TODAY - back * DAY);
    if (back !== 2 && back !== 5) await spend('U1', 'C1', 5_000);
    await spend('U2', 'C2', 30_000);
  }
  clock.now = new Date(TODAY);
  return { ledger, other, teamId, spend };
}

const subjects = (spikes: { subject: { kind: string; id: string } }[]) =>
  spikes.map((s) => `${s.subject.kind}:${s.subject.id}`).sort();

describe('spikes', () => {
  it('today against the median of the 14 days before, per person and channel, claimed once across two replicas', async () => {
    const { ledger, other, teamId, spend } = await setup();
    await spend('U1', 'C1', 12_000);
    await spend('U1', 'C1', 12_000, 'hold'); // held counts
    await spend('U1', 'C1', 50_000, 'release'); // released does not
    await spend('U2', 'C2', 40_000); // above the minimum, but not 3 × 30
    await spend('U3', 'C3', 21_000); // no history: a median of 0

    const found = await ledger.spikes(DEFAULTS);
    expect(subjects(found)).toEqual(['channel:C1', 'channel:C3', 'user:U1', 'user:U3']);
    const u1 = found.find((s) => s.subject.id === 'U1')!;
    expect(u1).toMatchObject({ teamId, todayMc: 24_000, medianMc: 5_000, factor: 3, day: '2026-03-10' });
    expect(u1.dayStart.toISOString()).toBe('2026-03-09T23:00:00.000Z');
    expect(found.find((s) => s.subject.id === 'U3')).toMatchObject({ todayMc: 21_000, medianMc: 0 });

    // Both replicas find and claim them at once: each claimed exactly once
    const claims = await Promise.all(
      [...found, ...(await other.spikes(DEFAULTS))].map((s, i) =>
        (i % 2 ? other : ledger).claimSpike(s, {
          mix: [{ model: 'kling-v2-6', mode: 'pro', durationS: 10, videos: 2, spentMc: mc(24_000) }],
          reruns: 1,
        }),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(4);
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);

    const alerts = await ledger.undeliveredSpikes(teamId);
    expect(subjects(alerts)).toEqual(['channel:C1', 'channel:C3', 'user:U1', 'user:U3']);
    expect(alerts.find((s) => s.subject.id === 'U1')!.drivers.reruns).toBe(1);
    for (const alert of alerts) await ledger.markSpikeDelivered(alert, ['C0ALERTS']);
    expect(await ledger.undeliveredSpikes(teamId)).toEqual([]);

    // Still spending later today: no second alert the same day
    await spend('U1', 'C1', 40_000);
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);
  });

  it('ignores a refused request, stays under the minimum, follows the workspace factor, and can be switched off', async () => {
    const { ledger, teamId, spend } = await setup();
    // A refused request holds nothing, so it spends nothing
    expect((await ledger.reserve({ teamId, userId: 'U1', channelId: 'C1', amountMc: mc(2_000_000) })).ok).toBe(false);
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);
    await spend('U1', 'C1', 19_000); // above 3 × 5, below 20
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);
    await spend('U1', 'C1', 5_000); // 24
    await ledger.setAlertSettings(teamId, { spikes: { factor: 5, minMc: mc(10_000) } }, { by: 'UADMIN' }); // 24 < 5 × 5
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);
    await ledger.setAlertSettings(teamId, { spikes: { factor: 4, minMc: mc(10_000) } }, { by: 'UADMIN' });
    expect(subjects(await ledger.spikes(DEFAULTS))).toEqual(['channel:C1', 'user:U1']);
    await ledger.setAlertSettings(teamId, { spikes: null }, { by: 'UADMIN' });
    expect(await ledger.spikes(DEFAULTS)).toEqual([]);
    await expect(
      ledger.setAlertSettings(teamId, { spikes: { factor: 1, minMc: mc(0) } }, { by: 'UADMIN' }),
    ).rejects.toThrow(/more than 1/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants, type ReserveRequest } from '../../src/budget';
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

/** Two replicas' ledgers on one team in Berlin (daily limit 100), with one clock the test moves. */
async function setup() {
  const clock = { now: new Date('2026-03-10T08:00:00Z') }; // 09:00 in Berlin
  const options = { now: () => clock.now, defaultTimezone: 'Europe/Berlin', defaultDailyLimitMc: mc(100_000) };
  const ledger = new Ledger(database.db, options);
  const other = new Ledger(replica.db, options);
  const teamId = `TF${++teams}`;
  await ledger.ensureWorkspace(teamId);
  const [budget] = await ledger.budgets(teamId);
  const reserve = async (userId: string, amountMc: number, more: Partial<ReserveRequest> = {}) =>
    ledger.reserve({ teamId, channelId: 'C1', userId, amountMc: mc(amountMc), ...more });
  const at = (iso: string) => {
    clock.now = new Date(iso);
  };
  return { ledger, other, teamId, budget: budget!, reserve, at };
}

describe('forecast alerts', () => {
  it('a morning burst claims one forecast alert across two replicas, with the run-out time and top three spenders', async () => {
    const { ledger, other, teamId, budget, reserve, at } = await setup();
    for (const [user, credits] of [
      ['U1', 15],
      ['U2', 10],
      ['U3', 5],
      ['U4', 2],
    ] as const)
      await reserve(user, credits * 1000);
    at('2026-03-10T08:30:00Z');
    const claims = await Promise.all([
      ledger.claimForecastAlerts(),
      other.claimForecastAlerts(),
      ledger.claimForecastAlerts(),
    ]);
    expect(claims.flat()).toEqual([teamId]);
    expect(await other.claimForecastAlerts()).toEqual([]);

    const alerts = (await ledger.undeliveredAlerts(teamId)).filter((e) => e.kind === 'forecast');
    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    if (alert.kind !== 'forecast') throw new Error('not a forecast');
    expect(alert.budget.id).toBe(budget.id);
    // 32 credits in the half hour since the first one, read over at least an hour: 32 an hour; 68 left.
    expect(alert.runsOutAt.toISOString()).toBe(
      new Date(Date.parse('2026-03-10T08:30:00Z') + (68 / 32) * 3_600_000).toISOString(),
    );
    expect(alert.spenders).toEqual([
      { userId: 'U1', chargedMc: 15_000 },
      { userId: 'U2', chargedMc: 10_000 },
      { userId: 'U3', chargedMc: 5_000 },
    ]);
    expect(alert.chargedMc).toBe(32_000);

    // The display agrees
    const [usage] = await ledger.usages([budget.id]);
    expect(await ledger.forecasts([usage!])).toEqual([
      { kind: 'runs-out', at: alert.runsOutAt, projectedMc: expect.any(Number) },
    ]);
    await ledger.markAlertDelivered(alert, ['C0ALERTS']);
    at('2026-03-10T09:00:00Z');
    await reserve('U1', 10_000);
    expect(await ledger.claimForecastAlerts()).toEqual([]); // once per budget and period
  });

  it('is not claimed once the budget was exhausted', async () => {
    const { ledger, teamId, reserve, at } = await setup();
    await reserve('U1', 60_000);
    expect((await reserve('U2', 50_000)).ok).toBe(false); // claims 'exhausted'
    at('2026-03-10T08:30:00Z');
    expect(await ledger.claimForecastAlerts()).toEqual([]);
    expect((await ledger.undeliveredAlerts(teamId)).map((e) => e.kind)).toEqual(['exhausted']);
  });

  it('a refused request adds nothing to the pace', async () => {
    const { ledger, teamId, reserve, at } = await setup();
    await ledger.setBudget({ teamId, scope: 'user', scopeId: 'U1', period: 'day', limitMc: mc(10_000), by: 'UADMIN' });
    await reserve('U1', 6_000);
    // Refused by U1's own budget; the workspace budget could have taken it, and is not exhausted
    expect((await reserve('U1', 90_000)).ok).toBe(false);
    at('2026-03-10T08:30:00Z');
    expect(await ledger.claimForecastAlerts()).toEqual([]);
    const [workspace] = await ledger.usageFor({ teamId, channelId: 'C1', userId: 'U2' });
    expect(await ledger.forecasts([workspace!])).toEqual([{ kind: 'ends-at', projectedMc: 93_000 }]);
  });

  it('is not claimed when the workspace switched forecasts off', async () => {
    const { ledger, teamId, reserve, at } = await setup();
    await ledger.setAlertSettings(teamId, { forecastAlerts: false }, { by: 'UADMIN' });
    await reserve('U1', 40_000);
    at('2026-03-10T08:30:00Z');
    expect(await ledger.claimForecastAlerts()).toEqual([]);
    await ledger.setAlertSettings(teamId, { forecastAlerts: true }, { by: 'UADMIN' });
    expect(await ledger.claimForecastAlerts()).toEqual([teamId]);
  });
});

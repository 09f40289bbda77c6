import type { SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, auditTrail } from '../../src/budget';
import { sql } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** The audit trail on real Postgres: each setter records who, when, from what to what and why. */

let database: TestDatabase;
const clock = { now: new Date('2026-11-25T09:00:00Z') };
const tick = () => (clock.now = new Date(clock.now.getTime() + 60_000));

beforeAll(async () => {
  database = await createTestDatabase({ max: 2 });
});
afterAll(async () => database.drop());

const ALL = { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-12-01T00:00:00Z') };

describe('the audit trail', () => {
  it('records every change to money and rules, newest first, with who, when, old and new value and why', async () => {
    const teamId = 'TAUDIT';
    const ledger = new Ledger(database.db, { now: () => clock.now });
    const admin = { by: 'UADMIN', why: '/kling …' };
    await ledger.ensureWorkspace(teamId);
    const [workspace] = await ledger.budgets(teamId);
    if (!workspace) throw new Error('no workspace budget');

    tick();
    await ledger.setBudget({
      ...workspace,
      limitMc: mc(50_000),
      by: 'UADMIN',
      why: '/kling budget set workspace day 50',
    });
    tick();
    await ledger.setBudget({ ...workspace, limitMc: mc(50_000), thresholds: [50, 90], hard: false, by: 'UADMIN' });
    tick();
    await ledger.setBudget({
      teamId,
      scope: 'tag',
      scopeId: 'launch',
      period: 'week',
      limitMc: mc(9_000),
      by: 'UADMIN',
    });
    tick();
    await ledger.setConfirmThreshold(teamId, mc(8_000), admin);
    tick();
    await ledger.setConfirmThreshold(teamId, mc(8_000), admin); // no change: nothing recorded
    tick();
    await ledger.setAlertsChannel(teamId, 'CALERTS', admin);
    tick();
    await ledger.setAlertSettings(teamId, { forecastAlerts: false, spikes: { factor: 4, minMc: mc(10_000) } }, admin);
    tick();
    await ledger.adjust(workspace.id, mc(5_000), 'UADMIN', 'approved apr_1: a fox');
    tick();
    await ledger.recordDecision(teamId, 'denial', 'generate a fox', { by: 'UBOSS', why: 'denied apr_2: a fox' });

    const { entries, total } = await auditTrail(database.db, teamId, ALL, 100);
    const summary = entries.map((e) => [e.actor, e.subject, e.oldValue, e.newValue]);
    expect(summary).toEqual([
      ['UBOSS', 'denial', null, 'generate a fox'],
      ['UADMIN', 'adjustment', null, 5_000],
      // One command's changes share a time; the later-written comes first.
      ['UADMIN', 'spike-minimum', null, 10_000],
      ['UADMIN', 'spike-factor', null, 4],
      ['UADMIN', 'forecast-alerts', true, false],
      ['UADMIN', 'alerts-channel', null, 'CALERTS'],
      ['UADMIN', 'confirm-threshold', null, 8_000],
      ['UADMIN', 'limit', null, 9_000],
      ['UADMIN', 'thresholds', [80, 100], [50, 90]],
      ['UADMIN', 'hardness', true, false],
      ['UADMIN', 'limit', 100_000, 50_000],
    ]);
    expect(total).toBe(entries.length);
    const limit = entries.at(-1)!;
    expect(limit).toMatchObject({
      at: new Date('2026-11-25T09:01:00Z'),
      why: '/kling budget set workspace day 50',
      budget: { scope: 'workspace', scopeId: teamId, period: 'day' },
    });
    expect(entries.find((e) => e.subject === 'adjustment')).toMatchObject({ why: 'approved apr_1: a fox' });
    expect(entries.find((e) => e.subject === 'limit' && e.newValue === 9_000)?.budget).toMatchObject({ scope: 'tag' });

    // A period outside the changes lists none.
    expect((await auditTrail(database.db, teamId, { start: ALL.end, end: new Date('2027-01-01') }, 10)).total).toBe(0);
  });

  it('is append-only in the database', async () => {
    const refusal = (query: SQL) =>
      database.db.execute(query).then(
        () => 'allowed',
        (error: Error & { cause?: Error }) => (error.cause ?? error).message,
      );
    expect(await refusal(sql`update audit_events set actor = 'UOTHER'`)).toBe(
      'audit_events is append-only: UPDATE refused',
    );
    expect(await refusal(sql`delete from audit_events`)).toBe('audit_events is append-only: DELETE refused');
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { startHarness, textOf, type Harness } from './harness';

/**
 * Kling charges above the estimate held: the commit takes the hard workspace budget past its limit, and the
 * admins hear it once for the period, with the jobs named, through the budget-alert outbox.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '3' } });
});
afterAll(async () => h?.close());

const overrunAlerts = () => h.slack.messages('C0ALERTS').filter((m) => textOf(m).includes('went over its limit'));

it('alerts the admins once per budget and period, naming the jobs Kling charged above their estimate', async () => {
  h.kling.setCharge('4'); // kling-v2-5-turbo std 5 s is quoted at 1.5; the limit is 3
  await h.command('U0GRACE', 'generate a fox in the snow');
  const [first] = await rows<{ id: string }>(h.database.db, sql`select id from generations order by created_at`);
  const alert = await h.slack.waitFor(() => overrunAlerts()[0], 15_000);
  expect(textOf(alert)).toContain('the workspace daily budget went over its limit*: 4 credits');
  expect(textOf(alert)).toContain(`Kling charged more than the estimate held for \`${first!.id}\``);

  // One alert for the period, posted once (test/budget/ledger.test.ts: a later overcharge claims none).
  const claimed = await rows(h.database.db, sql`select count(*)::int as n from budget_alerts where kind = 'overrun'`);
  expect(claimed).toEqual([{ n: 1 }]);
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // the outbox retry interval is 500 ms
  expect(overrunAlerts()).toHaveLength(1);
});

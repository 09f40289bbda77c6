import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { startHarness, textOf, type Harness } from './harness';

/** 50 people's worth of /kling generate at once against a workspace budget that fits 20 of them. */

const USERS = Array.from({ length: 10 }, (_, i) => ({ id: `U0P${String(i).padStart(2, '0')}`, name: `person${i}` }));
let h: Harness;

beforeAll(async () => {
  // The default request (kling-v2-5-turbo std 5 s) costs 1.5 credits: 30 credits fit exactly 20.
  h = await startHarness({ users: USERS, env: { DEFAULT_DAILY_LIMIT: '30' } });
});
afterAll(async () => h?.close());

describe('a burst of /kling generate', () => {
  it('accepts exactly 20 of 50, refuses 30 with what is left, and alerts once at 80% and once when exhausted', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => h.command(USERS[i % 10]!.id, `generate shot ${i} of a fox in the snow`)),
    );
    expect(replies.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const accepted = replies.filter((r) => r.ack === undefined);
    const refused = replies.filter((r) => r.ack !== undefined);
    expect(accepted).toHaveLength(20);
    expect(refused).toHaveLength(30);
    for (const r of refused) {
      expect(textOf(r.ack)).toMatch(
        /^:no_entry: Not queued: this needs \*1\.5 credits \(\$0\.21\)\* but the workspace daily budget has \*0\* left until/,
      );
    }

    const [counts] = await rows<{ held_or_done: number; refused: number }>(
      h.database.db,
      sql`select count(*) filter (where state <> 'refused')::int8 as held_or_done, count(*) filter (where state = 'refused')::int8 as refused from generations`,
    );
    expect(counts).toEqual({ held_or_done: 20, refused: 30 });

    // Every accepted job gets its card, and they all finish.
    await h.slack.waitFor(
      () => h.cards('C0VIDEO').filter((m) => textOf(m).includes('Done')).length === 20 || undefined,
      30_000,
    );

    const alerts = () => h.slack.messages('C0ALERTS').map(textOf);
    await h.slack.waitFor(() => alerts().some((t) => t.includes('is exhausted')) || undefined);
    await h.slack.waitFor(() => alerts().some((t) => t.includes('reached 80%')) || undefined);
    // Alerts post from the ledger's outbox, retried on a timer: give a duplicate the chance to appear.
    await new Promise((r) => setTimeout(r, 1500));
    expect(alerts().filter((t) => t.includes('reached 80%'))).toHaveLength(1);
    expect(alerts().filter((t) => t.includes('is exhausted'))).toHaveLength(1);
    expect(alerts().filter((t) => t.includes('reached 100%')).length).toBeLessThanOrEqual(1);
    const exhausted = alerts().find((t) => t.includes('is exhausted'))!;
    expect(exhausted).toMatch(/\*the workspace daily budget is exhausted\*: 30 credits \(\$4\.20\) of 30 used or held/);
    expect(exhausted).toMatch(/Refused for <@U0P\d\d>/);
    const eighty = alerts().find((t) => t.includes('reached 80%'))!;
    expect(eighty).toMatch(/Triggered by <@U0P\d\d>/);

    expect(await checkInvariants(h.database.db)).toEqual([]);
    expect(h.slack.calls().filter((c) => !c.ok)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { startHarness, textOf, type Harness } from './harness';

/** --tag end to end through the offline workspace: the tag's budget, the job card, history and the digest. */

let h: Harness;
/** The bot's clock: moved a day on once the jobs are done, so the digest preview (the day before) is their day. */
let shiftMs = 0;
const ADA = 'U0ADA'; // a Slack admin
const GRACE = 'U0GRACE';

beforeAll(async () => {
  h = await startHarness({
    env: { DEFAULT_DAILY_LIMIT: '1000' },
    overrides: { now: () => new Date(Date.now() + shiftMs) },
  });
});
afterAll(async () => h?.close());

/** The job's short id as cards show it ("#2FC2"). */
function jobIdIn(text: string): string {
  const id = /#[0-9A-F]{4,32}\b/.exec(text)?.[0];
  if (!id) throw new Error(`no job id in: ${text}`);
  return id;
}

describe('--tag', () => {
  it("charges the tag's budget, shows on the card and in history, and the digest sums spending by tag", async () => {
    const set = await h.command(ADA, 'budget set tag:launch day 3');
    expect(textOf(set.ack)).toContain("the tag `launch`'s daily budget is now 3 credits");
    const refusedTag = await h.command(GRACE, 'budget set tag:Launch! day 3');
    expect(textOf(refusedTag.ack)).toContain('lowercase letters, digits and dashes');

    // Two videos of 1.5 credits fit the tag's 3; the third is refused by the tag's budget alone.
    const ids: string[] = [];
    for (const prompt of ['a fox in snow', 'a fox in rain']) {
      const reply = await h.command(GRACE, `generate ${prompt} --tag launch`);
      expect(reply.ack).toBeUndefined();
      const card = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes(prompt)));
      expect(textOf(card)).toContain('tag `launch`');
      ids.push(jobIdIn(textOf(card)));
    }
    for (const id of ids) {
      await h.slack.waitFor(
        () => h.cards('C0VIDEO').find((m) => textOf(m).includes(id) && textOf(m).includes('Done')),
        10_000,
      );
    }
    const refused = await h.command(GRACE, 'generate a fox in fog --tag launch');
    expect(textOf(refused.ack)).toMatch(/the tag `launch`'s daily budget has \*0\* left/);
    // A project's budget is not raised for one person: the refusal says who can change it, and how.
    expect(textOf(refused.ack)).toContain('An admin can raise it with `/kling budget set tag:launch day <credits>`');
    expect(JSON.stringify(refused.ack)).not.toContain('approval_request');
    // The estimate reads the tag's budget too, before anything is asked.
    const estimate = await h.command(GRACE, 'estimate a fox in fog --tag launch');
    expect(textOf(estimate.ack)).toMatch(/the tag `launch`'s daily budget: 0 of 3 left, \*would not fit\*/);
    expect(textOf((await h.command(GRACE, 'estimate a fox in fog')).ack)).not.toContain('tag `launch`');
    const untagged = await h.command(GRACE, 'generate a fox in fog');
    expect(untagged.ack).toBeUndefined();

    const bad = await h.command(GRACE, 'generate a fox --tag Spring_Launch');
    expect(textOf(bad.ack)).toContain('`--tag` must be lowercase letters, digits and dashes, at most 32');

    const history = await h.command(GRACE, 'history');
    expect(textOf(history.ack)).toContain('cr · `launch` · a fox in snow');

    const tagged = await rows<{ tag: string | null }>(
      h.database.db,
      sql`select tag from generations order by created_at`,
    );
    expect(tagged.map((r) => r.tag)).toEqual(['launch', 'launch', 'launch', null]);

    shiftMs = 24 * 3600_000;
    await h.command(ADA, 'digest preview');
    const preview = await h.slack.waitFor(
      () => h.slack.messages('C0VIDEO').find((m) => m.ephemeralTo === ADA && textOf(m).includes('Kling digest')),
      10_000,
    );
    expect(textOf(preview)).toMatch(/\*By tag\*\n• `launch` 3 credits \(\$[\d.]+\), 2 jobs/);
    expect(await checkInvariants(h.database.db)).toEqual([]);
  });
});

describe('/kling budget timezone', () => {
  it('refuses a zone that does not exist and says when a real one applies; only admins may', async () => {
    shiftMs = 0;
    const unreal = await h.command(ADA, 'budget timezone Mars/Olympus');
    expect(textOf(unreal.ack)).toContain('`Mars/Olympus` is not a timezone');
    expect(textOf((await h.command(GRACE, 'budget timezone Asia/Tokyo')).ack)).toContain('Only workspace admins');
    const moved = textOf((await h.command(ADA, 'budget timezone Asia/Tokyo')).ack);
    expect(moved).toMatch(/From <!date\^\d+\^.*, periods start at midnight in Asia\/Tokyo\. The current periods keep/);
    const workspace = await h.ledger.ensureWorkspace('T0DEMO');
    expect(workspace).toMatchObject({ timezone: 'UTC', pendingTimezone: 'Asia/Tokyo' });
    const trail = textOf((await h.command(ADA, 'audit today')).ack);
    expect(trail).toContain('changed the timezone from UTC to Asia/Tokyo');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { BOT_TOKEN, startHarness, textOf, type Harness } from './harness';

/** `/kling export` through the offline workspace: the file arrives in the person's DM and holds what they may see. */

let h: Harness;
const ADA = 'U0ADA'; // a workspace admin
const GRACE = 'U0GRACE';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

/** The `seen`-th file the bot shared in this person's DM (the workspace names it D + the user id without U), read back. */
async function exportedFile(userId: string, seen: number) {
  const dm = `D${userId.slice(1)}`;
  const message = await h.slack.waitFor(
    () =>
      h.slack
        .messages(dm)
        .filter((m) => m.files?.length)
        .at(seen),
    30_000,
  );
  const file = message.files![0]!;
  // As the person's Slack would: the file is private, so it takes a token.
  const text = await (await fetch(file.url, { headers: { authorization: `Bearer ${BOT_TOKEN}` } })).text();
  // The names and ids here hold no comma or quote: a split reads them.
  const [header, ...lines] = text
    .trimEnd()
    .split('\n')
    .map((line) => line.split(','));
  return { message, file, records: lines.map((l) => Object.fromEntries(header!.map((k, i) => [k, l[i]!]))) };
}

const ephemeral = (userId: string, part: string) =>
  h.slack.waitFor(
    () => h.slack.messages('C0VIDEO').find((m) => m.ephemeralTo === userId && textOf(m).includes(part)),
    20_000,
  );

async function finished(n: number) {
  for (let i = 0; i < 600; i++) {
    const [r] = await rows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from generations where state = 'succeeded'`,
    );
    if (r!.n >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the jobs did not finish');
}

describe('/kling export', () => {
  it("sends an admin the workspace's jobs and a member only their own, as a CSV in their DM", async () => {
    await h.command(ADA, 'generate a red fox');
    await h.command(GRACE, 'generate a blue whale');
    await h.command(GRACE, 'generate a green owl --duration 10');
    await finished(3);

    const adminAck = await h.command(ADA, 'export');
    expect(textOf(adminAck.ack)).toContain("Preparing the workspace's export");
    const admin = await exportedFile(ADA, 0);
    expect(admin.file).toMatchObject({ mimetype: 'text/csv' });
    expect(admin.file.name).toMatch(/^kling-jobs-\d{4}-\d{2}\.csv$/);
    expect(admin.records.map((r) => r.person_name).sort()).toEqual(['Ada', 'Grace', 'Grace']);
    expect(admin.records.every((r) => r.state === 'succeeded' && /^kbb_/.test(r.job_id!))).toBe(true);
    expect(admin.message.text).toMatch(
      /^The workspace's spending for \d{4}-\d{2}: 3 jobs, [\d.]+ credits charged \(\$[\d.]+\)/,
    );

    const memberAck = await h.command(GRACE, 'export month --by job');
    expect(textOf(memberAck.ack)).toContain('Preparing your export');
    const member = await exportedFile(GRACE, 0);
    expect(member.file.name).toMatch(/^kling-jobs-U0GRACE-\d{4}-\d{2}\.csv$/);
    expect(member.records).toHaveLength(2);
    expect(new Set(member.records.map((r) => r.person_id))).toEqual(new Set([GRACE]));
    expect(member.message.text).toMatch(/^Your spending for .*: 2 jobs/);
    // The ack is replaced by where the file went.
    await ephemeral(GRACE, 'is in your direct messages');
  });

  it('says so when Slack refuses the file', async () => {
    h.slack.injectFault({ method: 'files.completeUploadExternal', error: 'not_in_channel' });
    await h.command(GRACE, 'export last-month --by model');
    const sorry = await ephemeral(GRACE, 'could not be delivered');
    expect(textOf(sorry)).toContain('Slack answered `not_in_channel`');
    expect(h.slack.messages('D0GRACE').filter((m) => m.files?.length)).toHaveLength(1); // the first test's file only
  });
});

describe('/kling audit', () => {
  it('lists for admins, newest first, who changed a limit, when, from what to what', async () => {
    // The jobs above opened today's period of the workspace budget (100 credits a day by default).
    expect(textOf((await h.command(ADA, 'budget set workspace day 50')).ack)).toContain('50');
    await h.command(ADA, 'budget set workspace day 80');
    const trail = textOf((await h.command(ADA, 'audit today')).ack);
    expect(trail).toContain('Changes to budgets and rules in');
    const lines = trail.split('\n').filter((l) => l.includes('<@U0ADA>'));
    expect(lines[0]).toContain('set the workspace daily budget from 50 credits to 80 credits');
    expect(lines[0]).toContain('/kling budget set workspace day 80');
    expect(lines[1]).toContain('set the workspace daily budget from 100 credits to 50 credits');
    expect(textOf((await h.command(GRACE, 'audit')).ack)).toContain('Only workspace admins');

    // An admin's export carries the period's audit trail as a second file; a member's does not.
    const filesBefore = h.slack.messages('D0ADA').filter((m) => m.files?.length).length;
    await h.command(ADA, 'export today --by person');
    const audit = await exportedFile(ADA, filesBefore + 1);
    expect(audit.file.name).toMatch(/^kling-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const limits = audit.records.filter((r) => r.change === 'limit');
    expect(limits.map((r) => [r.person_name, r.old_value, r.new_value])).toEqual([
      ['Ada', '100', '50'],
      ['Ada', '50', '80'],
    ]);
    expect(limits[1]!.why).toBe('/kling budget set workspace day 80');
    expect(audit.records.find((r) => r.change === 'alerts-channel')).toMatchObject({
      person_id: 'default',
      new_value: 'C0ALERTS',
    });
  });
});

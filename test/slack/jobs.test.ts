import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from './harness';

/** Cancel (command and card button), status, and the admins' side of a paused queue. */

let h: Harness;
const ADA = 'U0ADA';
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const card = (prompt: string) =>
  h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes(prompt)), 10_000);
/** The job's short id, as its card shows it ("#2FC2"). */
const idOf = (text: string) => /#[0-9A-F]{4,}/.exec(text)![0];
const alert = (part: string) =>
  h.slack.waitFor(() => h.slack.messages('C0ALERTS').find((m) => textOf(m).includes(part)), 10_000);

describe('a paused queue, cancelling and status', () => {
  it('alerts the admins when Kling refuses the account, keeps jobs queued, and only an admin resumes', async () => {
    h.kling.setBalance(0);
    await h.command(GRACE, 'generate the first shot');
    const paused = await alert('Kling refused new work');
    expect(textOf(paused)).toMatch(/\(code 1102\)/);
    expect(textOf(paused)).toContain('Queued videos keep their held credits and wait');
    // Back in the queue, with its hold, until the account is usable again.
    const first = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('the first shot') && textOf(m).includes('Queued')),
      10_000,
    );

    // The queue is paused, so this one stays queued: a job that can still be cancelled.
    await h.command(GRACE, 'generate the second shot');
    const second = await card('the second shot');
    const secondId = idOf(textOf(second));

    const notYours = await h.command(LINUS, `cancel ${secondId}`);
    expect(textOf(notYours.ack)).toContain(`Only <@U0GRACE> or an admin can cancel job ${secondId}`);

    await h.slack.clickButton({ userId: GRACE, channelId: 'C0VIDEO', messageTs: second.ts, actionId: 'job_cancel' });
    const cancelled = await h.slack.waitFor(() =>
      h.cards('C0VIDEO').find((m) => m.ts === second.ts && textOf(m).includes('Cancelled')),
    );
    expect(textOf(cancelled)).toContain('the credits held went back to the budget');
    expect(JSON.stringify(cancelled.blocks)).not.toContain('job_cancel');

    const status = await h.command(GRACE, `status ${secondId}`);
    expect(textOf(status.ack)).toContain('Cancelled');

    await h.slack.clickButton({ userId: GRACE, channelId: 'C0ALERTS', messageTs: paused.ts, actionId: 'queue_resume' });
    await h.slack.waitFor(() =>
      h.slack.messages('C0ALERTS').find((m) => m.ephemeralTo === GRACE && textOf(m).includes('Only admins can resume')),
    );

    h.kling.setBalance(1_000_000);
    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: paused.ts, actionId: 'queue_resume' });
    await alert('running again');
    const done = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => m.ts === first.ts && textOf(m).includes('Done')),
      15_000,
    );

    const late = await h.command(GRACE, `cancel ${idOf(textOf(done))}`);
    expect(textOf(late.ack)).toMatch(/cannot be cancelled/);
  });

  it("an admin may cancel someone else's queued job with the command", async () => {
    h.kling.setBalance(0);
    await h.command(LINUS, 'generate a third shot');
    const third = await card('a third shot');
    await h.slack.waitFor(
      () =>
        h.slack.messages('C0ALERTS').filter((m) => textOf(m).includes('Kling refused new work')).length === 2 ||
        undefined,
      10_000,
    );
    const reply = await h.command(ADA, `cancel ${idOf(textOf(third))}`);
    expect(textOf(reply.ack)).toContain('Cancelled job');
    await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => m.ts === third.ts && textOf(m).includes('Cancelled')));
  });
});

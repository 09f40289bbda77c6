import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from './harness';

/** With no alerts channel, Kling account problems reach the admins in ADMIN_USER_IDS by DM. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    env: { KLING_API_KEY: 'not-the-key-kling-knows', ALERT_CHANNEL_ID: '', ADMIN_USER_IDS: 'U0ADA' },
  });
});
afterAll(async () => h?.close());

describe("Kling rejects the bot's credentials", () => {
  it('DMs the admins once, and the job card says the credits went back', async () => {
    await h.command('U0GRACE', 'generate a fox');
    const dm = await h.slack.waitFor(() => {
      const posted = h.slack
        .calls('chat.postMessage')
        .find((c) => c.ok && String(c.args.text).includes("Kling rejected the bot's credentials"));
      return posted && String(posted.args.channel);
    }, 15_000);
    const opened = h.slack.calls('conversations.open').filter((c) => c.ok);
    expect(opened.map((c) => c.args.users)).toContain('U0ADA');
    expect(dm.startsWith('D')).toBe(true);
    const failed = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('Failed')), 15_000);
    expect(textOf(failed)).toContain('went back to the budget');
    expect(JSON.stringify(h.slack.calls('chat.postMessage').map((c) => c.args))).not.toContain(
      'not-the-key-kling-knows',
    );

    await h.command('U0GRACE', 'generate a second fox');
    await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('a second fox') && textOf(m).includes('Failed')),
      15_000,
    );
    const credentialAlerts = h.slack
      .calls('chat.postMessage')
      .filter((c) => c.ok && String(c.args.text).includes("Kling rejected the bot's credentials"));
    expect(credentialAlerts).toHaveLength(1);
  });
});

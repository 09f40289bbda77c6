import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { DEFAULT_USERS } from '../../src/dev/slack-workspace';
import { GenerationQueue } from '../../src/generations';
import { createLogger } from '../../src/log';
import { Admins } from '../../src/slack/admins';
import { JobCards } from '../../src/slack/job-cards';
import { Notifier } from '../../src/slack/notifier';
import { BOT_TOKEN, startHarness, textOf, type Harness } from './harness';

/**
 * Budget alerts whose alerts channel Slack refuses (the bot removed from it, the channel archived) go to the
 * admins' DMs, once across replicas, saying why; a passing Slack error (a rate limit) keeps them in the outbox
 * for the channel instead.
 */

const ADA = 'U0ADA'; // a Slack admin, and in ADMIN_USER_IDS
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const KATE = 'U0KATE';

let h: Harness;
let web: WebClient;
let adaDm: string;
beforeAll(async () => {
  h = await startHarness({
    env: { ADMIN_USER_IDS: ADA },
    users: [...DEFAULT_USERS, { id: KATE, name: 'Kate' }],
    // A claim that a failed post left behind runs out quickly, so the retry is seen within the test.
    overrides: { alertLeaseMs: 1_000 },
  });
  web = new WebClient(BOT_TOKEN, { slackApiUrl: `${h.slack.url}/api/`, retryConfig: { retries: 0 } });
  adaDm = (await web.conversations.open({ users: ADA })).channel!.id!;
});
afterAll(async () => h?.close());

/** The person's daily budget is too small for any video; their request is refused, which raises an alert. */
async function refuse(userId: string, name: string, prompt: string): Promise<void> {
  expect(textOf((await h.command(ADA, `budget set <@${userId}|${name}> day 0.1`)).ack)).toContain('0.1');
  const refused = textOf((await h.command(userId, `generate ${prompt}`)).ack);
  expect(refused).toMatch(/budget/i);
}

const alertsOf = (userId: string) =>
  rows<{ delivered: boolean; to: string[] | null }>(
    h.database.db,
    sql`select delivered_at is not null as delivered, delivered_to as to from budget_alerts where triggered_by = ${userId}`,
  );
/** The person's alerts once they are marked delivered (just after the post). */
async function delivered(userId: string) {
  for (let i = 0; i < 100 && (await alertsOf(userId)).some((a) => !a.delivered); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return alertsOf(userId);
}
const dmsAbout = (userId: string) => h.slack.messages(adaDm).filter((m) => textOf(m).includes(`<@${userId}>`));

/** A second replica's notifier on the same database and workspace. */
function replica(): Notifier {
  const logger = createLogger('silent');
  const queue = new GenerationQueue(h.database.db, h.ledger, { maxQueuedPerUser: 5 });
  return new Notifier({
    client: web,
    ledger: h.ledger,
    cards: new JobCards({ client: web, queue, logger, creditPriceUsd: 0.1 }),
    admins: new Admins(web, [ADA], logger),
    logger,
    creditPriceUsd: 0.1,
    defaultAlertsChannel: 'C0ALERTS',
  });
}

describe('budget alerts when the alerts channel is broken', () => {
  it('go to the admins by DM once across replicas when the bot was removed from the channel, saying why', async () => {
    h.slack.closeChannel('C0ALERTS', 'remove-bot');
    const [a, b] = [replica(), replica()];
    await refuse(GRACE, 'grace', 'a paper boat');
    await Promise.all([a.deliverAlerts(), b.deliverAlerts(), a.deliverAlerts()]);
    const dm = await h.slack.waitFor(() => dmsAbout(GRACE)[0], 15_000);
    const note =
      ':incoming_envelope: Sent to you by DM because the alerts channel <#C0ALERTS> could not be reached: ' +
      'not_in_channel; invite the bot there, or change it with `/kling budget alerts &lt;#channel&gt;`.';
    expect(JSON.stringify(dm.blocks)).toContain(JSON.stringify(note));
    expect(textOf(dm)).toContain('refused');
    // The bot's own notifier retries every 500 ms: a few rounds later there is still one DM.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await Promise.all([a.deliverAlerts(), b.deliverAlerts()]);
    expect(dmsAbout(GRACE)).toHaveLength(1);
    expect(await alertsOf(GRACE)).toEqual([{ delivered: true, to: [ADA] }]);
    const refusedThere = h.slack.calls('chat.postMessage').filter((c) => c.args.channel === 'C0ALERTS');
    expect(refusedThere.some((c) => c.error === 'not_in_channel')).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('go to the admins by DM when the alerts channel is archived', async () => {
    await h.command(ADA, 'budget alerts <#C0GENERAL|general>');
    h.slack.closeChannel('C0GENERAL', 'archive');
    await refuse(LINUS, 'linus', 'a glass lighthouse');
    const dm = await h.slack.waitFor(() => dmsAbout(LINUS)[0], 15_000);
    expect(JSON.stringify(dm.blocks)).toContain(
      'the alerts channel <#C0GENERAL> could not be reached: is_archived; unarchive it, or change it with',
    );
    expect(await delivered(LINUS)).toEqual([{ delivered: true, to: [ADA] }]);
  });

  it('stay in the outbox on a rate limit and are posted in the channel later, not sent by DM', async () => {
    await h.command(ADA, 'budget alerts <#C0VIDEO|video>');
    // More 429s than one delivery's attempts (8): the first drain gives up and keeps the alert claimed.
    h.slack.injectFault({ method: 'chat.postMessage', httpStatus: 429, retryAfterSec: 0, times: 12 });
    await refuse(KATE, 'kate', 'a slow tide');
    const posted = () => h.cards('C0VIDEO').find((m) => textOf(m).includes(`<@${KATE}>`));
    await h.slack.waitFor(posted, 20_000);
    const limited = h.slack.calls('chat.postMessage').filter((c) => c.error === 'ratelimited');
    expect(limited).toHaveLength(12);
    expect(limited.every((c) => c.args.channel === 'C0VIDEO')).toBe(true);
    expect(dmsAbout(KATE)).toEqual([]);
    expect(await delivered(KATE)).toEqual([{ delivered: true, to: ['C0VIDEO'] }]);
  });
});

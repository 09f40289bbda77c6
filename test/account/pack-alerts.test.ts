import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot, type Bot } from '../../src/app';
import { loadConfig } from '../../src/config';
import { DigestStore } from '../../src/digest';
import { createLogger } from '../../src/log';
import { BOT_TOKEN, SIGNING_SECRET, startHarness, textOf, type Harness } from '../slack/harness';

/**
 * The Kling account through the simulator's /account/costs and /account/billing/package, with two replicas on one
 * database and a clock the test moves: each pack alert and each reconciliation finding is posted exactly once.
 */

const DAY = 24 * 3600 * 1000;
let offset = 0;
const clock = () => new Date(Date.now() + offset);
const t0 = Date.now();

let h: Harness;
let second: Bot;
beforeAll(async () => {
  const overrides = { now: clock, accountCheckMs: 100 };
  h = await startHarness({
    overrides,
    kling: {
      now: () => clock().getTime(),
      account: {
        // Kling's remaining figure lags: the charges of the test never show in a reading taken the same day.
        costsLagMs: 12 * 3600 * 1000,
        packs: [
          { id: 'pack-soon', name: 'Trial pack', units: 5, expiresAt: t0 + 5 * DAY },
          { id: 'pack-big', name: 'Standard pack', units: 4, expiresAt: t0 + 90 * DAY },
        ],
      },
    },
  });
  const config = loadConfig({
    DATABASE_URL: h.database.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `${h.slack.url}/api/`,
    KLING_API_KEY: 'test-kling-key',
    KLING_API_BASE_URL: h.kling.url,
    PORT: '0',
    ALERT_CHANNEL_ID: 'C0ALERTS',
    LOG_LEVEL: 'silent',
  });
  second = await createBot(config, {
    logger: createLogger('silent'),
    digestSchedule: false,
    worker: { pollMs: 50, retryMs: 50 },
    ...overrides,
  });
  await second.start();
});
afterAll(async () => {
  await second?.stop();
  await h?.close();
});

const alerts = (phrase: string) => h.cards('C0ALERTS').filter((m) => textOf(m).includes(phrase));
const costsReads = () => h.kling.requests.filter((r) => r.path.startsWith('/account/costs')).length;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Kling account with two replicas', () => {
  it('warns once that a pack expires with units left, and reads Kling at most once a minute', async () => {
    await h.slack.waitFor(() => alerts('expires').length > 0, 10_000);
    await settle(1_000); // ten more ticks on each replica
    expect(alerts('expires')).toHaveLength(1);
    expect(textOf(alerts('expires')[0])).toContain('Trial pack');
    expect(textOf(alerts('expires')[0])).toContain('5 units left');
    expect(alerts('run out')).toHaveLength(0); // nothing spent yet: no pace
    expect(costsReads()).toBe(1);
  });

  it("shows the packs less the ledger's commits since the reading; warns once they run out at this pace", async () => {
    for (const prompt of ['a fox', 'a heron']) {
      await h.command('U0GRACE', `generate ${prompt} --model kling-v2-5-turbo --mode std --duration 5`);
    }
    await h.slack.waitFor(() => h.kling.tasks().filter((t) => t.status === 'succeed').length === 2, 15_000);
    // 9 units read, 3 committed since: 6 left at 3 a day runs out in 2 days, within PACK_ALERT_DAYS (3).
    await h.slack.waitFor(() => alerts('run out about').length > 0, 15_000);
    await settle(1_000);
    expect(alerts('run out about')).toHaveLength(1);
    expect(textOf(alerts('run out about')[0])).toContain('6 units left, 3 units a day');
    expect(costsReads()).toBe(1); // the reading is still under a minute old

    const reply = await h.command('U0ADA', 'account');
    const shown = textOf(reply.ack);
    expect(shown).toContain('Trial pack');
    expect(shown).toMatch(/2 units left of 5 units/); // the trial pack expires first, so it paid the 3 units
    expect(shown).toMatch(/4 units left of 4 units/);
    expect(textOf((await h.command('U0GRACE', 'account')).ack)).toContain('Only workspace admins');

    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(metrics).toMatch(/kling_bot_pack_units\{pack="Trial pack",status="online"\} 2\b/);
    expect(metrics).toMatch(/kling_bot_pack_expiry_seconds\{pack="Standard pack"\} \d+/);

    // Each settled job's estimate against Kling's charge, on whichever replica settled it: both exact here.
    const otherMetrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
    const observed = (text: string, series: string) =>
      Number(new RegExp(`^${series} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const exact = 'kling_bot_estimate_error_ratio_bucket\\{le="0"\\}';
    expect(
      observed(metrics, 'kling_bot_estimate_error_ratio_count') +
        observed(otherMetrics, 'kling_bot_estimate_error_ratio_count'),
    ).toBe(2);
    expect(observed(metrics, exact) + observed(otherMetrics, exact)).toBe(2);
    const below = 'kling_bot_estimate_error_ratio_bucket\\{le="-0.001"\\}';
    expect(observed(metrics, below) + observed(otherMetrics, below)).toBe(0);

    // The digest's week: two jobs, charged exactly what was estimated.
    const store = new DigestStore(h.database.db);
    const [workspace] = await store.workspaces();
    const week = await store.estimates(
      workspace!.teamId,
      new Date(clock().getTime() - 7 * DAY),
      new Date(clock().getTime() + 1000),
    );
    expect(week).toEqual({ jobs: 2, chargedMc: 3000, deviationMc: 0 });
  });

  it('reconciles once a day: a task Kling charged that the ledger does not know, or charged differently', async () => {
    const account = h.kling.account!;
    const [charged] = h.kling.tasks().filter((t) => t.status === 'succeed');
    account.recordCharge({ taskId: 'ghost-task', units: 2 }, clock().getTime());
    account.rewriteCharge(charged!.taskId, 9);
    offset += DAY; // tomorrow: the deductions are old enough, and a new day may be reconciled
    await h.slack.waitFor(() => alerts('ghost-task').length > 0 && alerts(charged!.taskId).length > 0, 15_000);
    await settle(1_000);
    expect(alerts('ghost-task')).toHaveLength(1);
    expect(textOf(alerts('ghost-task')[0])).toContain('the ledger has no such job');
    expect(alerts(charged!.taskId)).toHaveLength(1);
    expect(textOf(alerts(charged!.taskId)[0])).toContain('where the ledger committed 1.5 units');
    expect(h.kling.requests.filter((r) => r.path === '/account/billing/package')).toHaveLength(2); // day one, day two
    // A day later the reading includes the charges; nothing is alerted twice.
    expect(costsReads()).toBe(2);
    expect(alerts('run out about')).toHaveLength(1);
    expect(alerts('expires')).toHaveLength(1);
  });

  it('lets an admin change the threshold or switch an alert off', async () => {
    expect(textOf((await h.command('U0ADA', 'account alerts off')).ack)).toContain('No more alerts');
    expect(textOf((await h.command('U0ADA', 'account expiry 10')).ack)).toContain('within 10 days');
    expect(textOf((await h.command('U0ADA', 'account')).ack)).toContain('units run out: off');
    expect(textOf((await h.command('U0GRACE', 'account alerts 5')).ack)).toContain('Only workspace admins');

    // A tolerance for the reconciliation: a task charged 1.5 units off passes, a task the ledger lacks does not.
    expect(textOf((await h.command('U0ADA', 'account reconcile 3')).ack)).toContain('more than 3 credits');
    const [, second] = h.kling.tasks().filter((t) => t.status === 'succeed');
    h.kling.account!.rewriteCharge(second!.taskId, 3);
    h.kling.account!.recordCharge({ taskId: 'ghost-two', units: 0.5 }, clock().getTime());
    const billingCalls = () => h.kling.requests.filter((r) => r.path === '/account/billing/package').length;
    offset += DAY;
    await h.slack.waitFor(() => alerts('ghost-two').length > 0, 15_000);
    await settle(1_000);
    expect(alerts('ghost-two')).toHaveLength(1);
    expect(alerts(second!.taskId)).toHaveLength(0);
    expect(billingCalls()).toBe(3);

    expect(textOf((await h.command('U0ADA', 'account reconcile off')).ack)).toContain('no longer checked');
    offset += DAY;
    await settle(1_000);
    expect(billingCalls()).toBe(3); // off: Kling is not even asked
    expect(alerts('ghost')).toHaveLength(2); // and nothing was posted twice
  });
});

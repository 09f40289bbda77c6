import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from './harness';

/** End to end through the offline workspace: a morning burst, its forecast and spike alerts, /kling budget's projection. */

let h: Harness;
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
// The bot's clock runs from 09:00 in Berlin (08:00 UTC) on 10 March 2026, at real speed.
const START = Date.parse('2026-03-10T08:00:00Z');
const offset = START - Date.now();
const now = () => new Date(Date.now() + offset);

beforeAll(async () => {
  h = await startHarness({
    env: { TIMEZONE: 'Europe/Berlin', DEFAULT_DAILY_LIMIT: '100' },
    overrides: { now, watchMs: 100 },
  });
});
afterAll(async () => h?.close());

const forecasts = () => h.slack.messages('C0ALERTS').filter((m) => textOf(m).includes('runs out'));

describe('forecast', () => {
  it('a burst of spending early in the day raises one forecast alert with a time, and /kling budget shows it', async () => {
    // Before any spending: nothing to project
    const before = (await h.command(GRACE, 'budget')).ack!;
    expect(textOf(before)).toContain('too early to tell');

    // 20 credits within seconds (four 10 s pro videos at 5 credits). The alert comes once the pace says so:
    // with c credits charged so far, c an hour, so the other 100 − c last (100 − c) / c hours.
    for (const [user, prompt] of [
      [GRACE, 'a red fox'],
      [GRACE, 'a blue fox'],
      [LINUS, 'a green fox'],
      [GRACE, 'a grey fox'],
    ] as const) {
      const reply = await h.command(user, `generate ${prompt} --mode pro --duration 10`);
      expect(reply.status).toBe(200);
    }
    const alert = await h.slack.waitFor(() => forecasts()[0], 10_000);
    const text = textOf(alert);
    expect(text).toContain('At this pace the workspace daily budget runs out');
    const at = Number(/<!date\^(\d+)\^today about \{time\}/.exec(text)![1]) * 1000;
    const charged = Number(/: (\d+) credits \(/.exec(text)![1]);
    expect(charged).toBeGreaterThanOrEqual(5);
    expect(Math.abs(at - (START + ((100 - charged) / charged) * 3_600_000))).toBeLessThan(5 * 60_000);
    expect(text).toMatch(/Biggest spenders this period: <@U0GRACE> \d+/);

    const budget = textOf((await h.command(LINUS, 'budget')).ack!);
    expect(budget).toMatch(/at this pace: \*runs out <!date\^\d+\^today about \{time\}/);

    // More ticks and more spending: still one forecast alert for this budget and day
    await h.command(LINUS, 'generate a fox at dusk --mode pro --duration 10');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(forecasts()).toHaveLength(1);
  });

  it('spending far above a usual day raises one spike alert per person or channel, saying what drove it', async () => {
    // The first test's five videos in #video (25 credits, no history: a usual day of 0) are a spike for the channel
    const spikes = (who: string) => h.slack.messages('C0ALERTS').filter((m) => textOf(m).includes(`*${who} spent`));
    const channel = textOf(await h.slack.waitFor(() => spikes('<#C0VIDEO>')[0], 10_000));
    expect(channel).toContain('*<#C0VIDEO> spent 25 credits');
    expect(channel).toContain('• kling-v2-5-turbo · pro · 10 s: 5 videos, 25 credits');
    expect(channel).toContain('no re-runs of the same prompt');

    // Grace (15 so far) runs her red fox twice more, in other versions: 20.5 credits, above SPIKE_MIN_CREDITS
    await h.command(GRACE, 'generate a red fox --duration 10');
    expect(spikes('<@U0GRACE>')).toHaveLength(0);
    await h.command(GRACE, 'generate a red fox --mode pro --duration 5');
    const grace = textOf(await h.slack.waitFor(() => spikes('<@U0GRACE>')[0], 10_000));
    expect(grace).toContain('• kling-v2-5-turbo · pro · 10 s: 3 videos, 15 credits');
    expect(grace).toContain('• kling-v2-5-turbo · std · 10 s: 1 video, 3 credits');
    expect(grace).toContain('2 re-runs of the same prompt');

    await h.command(GRACE, 'generate a last fox --mode pro --duration 10');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect([spikes('<@U0GRACE>').length, spikes('<#C0VIDEO>').length]).toEqual([1, 1]);
  });

  it('only an admin switches forecast and spike alerts', async () => {
    expect(textOf((await h.command(GRACE, 'budget forecast off')).ack!)).toContain('Only workspace admins');
    expect(textOf((await h.command('U0ADA', 'budget forecast off')).ack!)).toContain('No more forecast alerts');
    expect(textOf((await h.command('U0ADA', 'budget spikes 4 30')).ack!)).toContain(
      'more than 4 times their usual day and more than 30 credits',
    );
    expect(textOf((await h.command('U0ADA', 'help')).ack!)).toContain(
      '/kling budget spikes &lt;factor&gt; &lt;min-credits&gt;|off',
    );
  });
});

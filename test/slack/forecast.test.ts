import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from './harness';

/** End to end through the offline workspace: a morning burst, its forecast alert and /kling budget's projection. */

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
    for (const [user, prompt] of [[GRACE, 'a red fox'], [GRACE, 'a blue fox'], [LINUS, 'a green fox'], [GRACE, 'a grey fox']] as const) {
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
});

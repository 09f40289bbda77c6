import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/dev/slack-workspace';
import { cardJobId, startHarness, textOf, type Harness } from './harness';

/** A queued job card says its place in the workspace's queue, and follows it as the jobs ahead start. */

const GRACE = 'U0GRACE';
const PLACES_SHOWN = 2;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    // One Kling slot, and tasks that run until the test ends them: the rest wait in the queue.
    env: { KLING_MAX_CONCURRENCY: '1' },
    kling: { timings: { queuedMs: 20, processingMs: 600_000 } },
    overrides: { cards: { placesShown: PLACES_SHOWN } },
  });
});
afterAll(async () => h?.close());

describe('a queued card and its place in the queue', () => {
  const prompts = ['fox one', 'fox two', 'fox three', 'fox four', 'fox five'];
  const cardOf = (prompt: string) => h.cards('C0VIDEO').find((m) => textOf(m).includes(prompt));
  const placeOn = (card: StoredMessage | undefined) => /· (\d+)\w\w in line/.exec(textOf(card))?.[1];
  /** The places the card showed in each chat.update while its job was queued, in order. */
  const placesShownBy = (card: StoredMessage) =>
    h.slack
      .calls('chat.update')
      .filter((c) => c.ok && c.args.ts === card.ts)
      .map((c) => placeOn({ blocks: c.args.blocks as unknown[] } as StoredMessage))
      .filter(Boolean);
  const until = (prompt: string, place: string | undefined) =>
    h.slack.waitFor(() => placeOn(cardOf(prompt)) === place && cardOf(prompt), 10_000);

  it('moves up as the jobs ahead start, for the first cards only, and costs nothing when no place changed', async () => {
    for (const prompt of prompts) expect((await h.command(GRACE, `generate ${prompt}`)).ack).toBeUndefined();
    // fox one holds the only slot; the others wait, each card saying where.
    await h.slack.waitFor(() => h.kling.tasks().length === 1, 10_000);
    await until('fox two', '1');
    await until('fox three', '2');
    await until('fox four', '3');
    const five = await until('fox five', '4');

    // fox one ends; fox two takes the slot: the two cards behind it within the first PLACES_SHOWN move up.
    h.kling.endTask(h.kling.tasks()[0]!.taskId, 'succeed');
    await h.slack.waitFor(() => h.kling.tasks().length === 2, 10_000);
    await until('fox two', undefined);
    const three = await until('fox three', '1');
    const four = await until('fox four', '2');
    // fox five is beyond the first PLACES_SHOWN: its card is left as it was, at no cost to Slack.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(placeOn(cardOf('fox five'))).toBe('4');
    expect(placesShownBy(five).filter((p) => p !== '4')).toEqual([]);

    // fox two ends, fox three starts: fox four moves up, and so does fox five, now among the first.
    h.kling.endTask(h.kling.tasks().find((t) => t.externalTaskId === cardJobId(cardOf('fox two')!))!.taskId, 'succeed');
    await until('fox three', undefined);
    await until('fox four', '1');
    await until('fox five', '2');

    // Each update of a waiting card showed a new place: none was sent for nothing.
    for (const card of [three, four, five]) {
      const shown = placesShownBy(card);
      expect(shown.filter((p, i) => p === shown[i - 1])).toEqual([]);
    }
    expect(placesShownBy(four)).toEqual(expect.arrayContaining(['2', '1']));
  }, 60_000);
});

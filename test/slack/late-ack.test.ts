import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from './harness';

/**
 * When the hold is slow (a burst on one budget), the command is acked with "checking" before Slack's
 * 3 s and the outcome follows on its response_url. Here every hold counts as slow (ackWithinMs: 0).
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '2' }, overrides: { ackWithinMs: 0 } });
});
afterAll(async () => h?.close());

const followUp = (userId: string, part: string) =>
  h.slack.waitFor(() =>
    h.slack
      .messages('C0VIDEO')
      .find((m) => m.ephemeralTo === userId && m.via === 'response_url' && textOf(m).includes(part)),
  );

describe('a slow hold', () => {
  it('acks at once, then says it is queued and posts the card', async () => {
    const reply = await h.command('U0GRACE', 'generate a slow fox');
    expect(textOf(reply.ack)).toContain('Checking your budgets');
    await followUp('U0GRACE', 'Queued. The job card is in the channel.');
    await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('a slow fox')));
  });

  it('acks at once, then shows the refusal', async () => {
    const reply = await h.command('U0LINUS', 'generate a second slow fox');
    expect(textOf(reply.ack)).toContain('Checking your budgets');
    const refusal = await followUp('U0LINUS', 'Not queued');
    expect(textOf(refusal)).toMatch(/the workspace daily budget has \*0\.5\* left/);
  });

  it('a mistake is still answered in the ack', async () => {
    const reply = await h.command('U0LINUS', 'generate a fox --mode ultra');
    expect(textOf(reply.ack)).toContain('`--mode` must be std, pro or 4k');
  });
});

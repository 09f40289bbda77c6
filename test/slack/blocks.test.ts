import { describe, expect, it } from 'vitest';
import { validateBlocks } from '../../src/dev/slack-workspace';
import type { Generation } from '../../src/generations';
import type { BudgetRef, Forecast, LedgerEvent, Usage } from '../../src/budget';
import { builtInCatalog } from '../../src/pricing';
import { budgetAlerts, queuePaused } from '../../src/slack/blocks/alerts';
import { bar, elapsed } from '../../src/slack/blocks/format';
import { jobCard, resultReply } from '../../src/slack/blocks/job-card';
import * as replies from '../../src/slack/blocks/replies';
import { USAGE, UsageError } from '../../src/slack/commands/parse';
import { decodeSlackText, escape, truncate } from '../../src/slack/escape';
import { mc } from '../../src/money/credits';

const NOW = new Date('2026-11-25T12:00:00Z');
const NASTY = `<!channel> <@U1> &amp; *bold* _it_ ~s~ \`code\` > quote 🦊👩‍👩‍👧‍👦 é ${'🏳️‍🌈'.repeat(3)}`;
const longPrompt = (n: number) => [...NASTY.repeat(Math.ceil(n / 30))].slice(0, n).join('');

function job(over: Partial<Generation> = {}): Generation {
  return {
    id: 'kbb_00000000-0000-0000-0000-000000000001',
    shortId: '0000',
    teamId: 'T1',
    channelId: 'C1',
    userId: 'U1',
    endpoint: 'text2video',
    request: { model_name: 'kling-v2-6', prompt: 'a fox', mode: 'pro', duration: '10', sound: 'on' },
    estimateMc: mc(10_000),
    state: 'queued',
    attempts: 0,
    createdAt: new Date(NOW.getTime() - 75_000),
    ...over,
  };
}

const budget: BudgetRef = {
  id: 1,
  teamId: 'T1',
  scope: 'channel',
  scopeId: 'C9',
  period: 'week',
  limitMc: mc(50_000),
  hard: true,
  thresholds: [80, 100],
};

describe('escape and truncate', () => {
  it("turns Slack's control characters into entities, so nothing pings", () => {
    expect(escape('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });

  it('cuts between grapheme clusters, never inside an emoji or an entity, and stays within the limit', () => {
    const family = '👩‍👩‍👧‍👦';
    const cut = truncate(family.repeat(10), 30);
    expect(cut.length).toBeLessThanOrEqual(30);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.slice(0, -1)).toBe(family.repeat(cut.slice(0, -1).length / family.length));
    expect(truncate('&&&&&&&&', 12)).toBe('&amp;&amp;…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('decodes the wire form of a slash command', () => {
    expect(
      decodeSlackText('a &lt;b&gt; &amp;amp; <#C1|general> <@U1> <!here> <!subteam^S1|@design> <mailto:a@b.c|a@b.c>'),
    ).toBe('a <b> &amp; #general @U1 @here @design a@b.c');
  });
});

describe('job card', () => {
  it('shows state, requester, elapsed time, settings, price and a Cancel button while queued', () => {
    const card = jobCard(job(), { now: NOW, creditPriceUsd: 0.14 });
    const text = JSON.stringify(card.blocks);
    // Slack's {ago} keeps the time moving without an update; the fallback is the time at render.
    expect(text).toContain(
      `:hourglass_flowing_sand: Queued · <@U1> · started <!date^${(NOW.getTime() - 75_000) / 1000}^{ago}|1m 15s ago>`,
    );
    expect(text).toContain('job #0000');
    expect(
      card.blocks
        .filter((b) => b.type !== 'actions')
        .map((b) => JSON.stringify(b))
        .join(),
    ).not.toContain('kbb_');
    expect(JSON.stringify(jobCard(job(), { now: NOW, creditPriceUsd: 0.14, place: 3 }).blocks)).toContain(
      'ago> · 3rd in line',
    );
    expect(text).toContain('kling-v2-6 pro · 10 s · audio · holding 10 credits ($1.40)');
    expect(text).toContain('"action_id":"job_cancel"');
    expect(text).not.toContain('Off-peak');
    expect(validateBlocks(card.blocks, 'message')).toBeUndefined();
  });

  it('says when an off-peak job will start, until it is due', () => {
    const tonight = new Date(NOW.getTime() + 6 * 3_600_000);
    const waiting = JSON.stringify(jobCard(job({ notBefore: tonight }), { now: NOW, creditPriceUsd: 0.14 }).blocks);
    expect(waiting).toContain(`Off-peak: waits until <!date^${Math.floor(tonight.getTime() / 1000)}^`);
    const due = JSON.stringify(
      jobCard(job({ notBefore: tonight }), { now: new Date(tonight.getTime() + 1000), creditPriceUsd: 0.14 }).blocks,
    );
    expect(due).not.toContain('Off-peak');
  });

  it("a failure shows Kling's reason, escaped, and that the credits went back", () => {
    const card = jobCard(
      job({ state: 'failed', errorMessage: 'Failure to pass the risk control <system>', endedAt: NOW }),
      { now: NOW, creditPriceUsd: 0.14 },
    );
    const text = JSON.stringify(card.blocks);
    expect(text).toContain('Kling could not make this video: Failure to pass the risk control &lt;system&gt;');
    expect(text).toContain('The 10 credits ($1.40) held for it went back to the budget.');
    expect(text).not.toContain('job_cancel');
  });

  it('a success shows what Kling charged; the thread reply links the video', () => {
    const done = job({
      state: 'succeeded',
      actualMc: mc(9_500),
      endedAt: NOW,
      result: { videos: [{ url: 'https://cdn.test/v.mp4?a=1|2', duration: '10.04' }], images: [] },
    });
    expect(JSON.stringify(jobCard(done, { now: NOW, creditPriceUsd: 0.14 }).blocks)).toContain(
      'charged 9.5 credits ($1.33)',
    );
    const reply = resultReply(done);
    expect(JSON.stringify(reply.blocks)).toContain('<https://cdn.test/v.mp4?a=1%7C2|Video> (10.04 s)');
  });

  it.each(['queued', 'processing', 'succeeded', 'failed', 'cancelled'] as const)(
    'stays valid with a 2500-character prompt of emoji and mrkdwn (%s)',
    (state) => {
      const prompt = longPrompt(2500);
      const card = jobCard(
        job({
          state,
          request: { model_name: 'kling-v2-6', prompt, negative_prompt: prompt },
          errorMessage: prompt,
          endedAt: NOW,
        }),
        { now: NOW, creditPriceUsd: 0.14 },
      );
      expect(validateBlocks(card.blocks, 'message')).toBeUndefined();
      const all = JSON.stringify(card);
      expect(all).not.toMatch(/<!channel>|<@U1>(?!\s·)/);
      expect(card.text.length).toBeLessThanOrEqual(3000);
    },
  );
});

describe('replies', () => {
  const quote = builtInCatalog.quote({
    endpoint: 'text2video',
    body: { model_name: 'kling-v2-6', prompt: 'x', mode: 'pro', duration: '10', sound: 'on' },
  });
  const usage = (remainingMc: number): Usage => ({
    budget,
    periodStart: NOW,
    periodEnd: new Date(NOW.getTime() + 86_400_000),
    committedMc: mc(30_000),
    heldMc: mc(5_000),
    chargedMc: mc(35_000),
    remainingMc: mc(remainingMc),
    limitMc: mc(50_000),
    percent: 70,
    raises: [],
  });

  it('a refusal names the budget, what is left, the alternative that fits, and offers approval for a channel budget', () => {
    const message = replies.refusal(
      {
        budget,
        periodStart: NOW,
        periodEnd: NOW,
        remainingMc: mc(4_000),
        neededMc: mc(10_000),
        fittingAlternative: { label: 'std & 5 s', amountMc: mc(3_000) },
      },
      quote,
      { creditPriceUsd: 0.14, approvalValue: 'v{}' },
    );
    const text = JSON.stringify(message.blocks);
    expect(text).toContain("this needs *10 credits ($1.40)* but <#C9>'s weekly budget has *4* left until");
    expect(text).toContain('*std &amp; 5 s* would cost 3 credits ($0.42) and fits');
    expect(text).toContain('"action_id":"approval_request"');
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
    const workspaceWide = replies.refusal(
      {
        budget: { ...budget, scope: 'workspace', scopeId: 'T1' },
        periodStart: NOW,
        periodEnd: NOW,
        remainingMc: mc(0),
        neededMc: mc(10_000),
      },
      quote,
      { creditPriceUsd: 0.14, approvalValue: 'v{}' },
    );
    expect(JSON.stringify(workspaceWide.blocks)).not.toContain('approval_request');
  });

  it('the estimate says which budgets fit', () => {
    const text = JSON.stringify(
      replies.estimate(quote, [usage(15_000), usage(4_000)], { creditPriceUsd: 0.14 }).blocks,
    );
    expect(text).toContain("<#C9>'s weekly budget: 15 of 50 left, fits");
    expect(text).toContain('*would not fit*, short by 6');
  });

  it('budgets draw a bar: █ committed, ▒ held, ░ free', () => {
    expect(bar(30_000, 5_000, 50_000)).toBe('██████▒░░░');
    expect(bar(0, 0, 0)).toBe('░░░░░░░░░░');
    expect(JSON.stringify(replies.budgets([usage(15_000)], { creditPriceUsd: 0.14, isAdmin: false }).blocks)).toContain(
      '\\n██████▒░░░ 70%',
    );
  });

  it('budgets say where the period is heading at this pace', () => {
    const shown = (forecast: Forecast) =>
      JSON.stringify(
        replies.budgets([{ ...usage(15_000), forecast }], { creditPriceUsd: 0.14, isAdmin: false }).blocks,
      );
    expect(shown({ kind: 'ends-at', projectedMc: mc(31_600) })).toContain(
      'at this pace: ends the week at about 32 of 50',
    );
    expect(shown({ kind: 'runs-out', at: NOW, projectedMc: mc(80_000) })).toContain(
      `runs out <!date^${NOW.getTime() / 1000}^{date_short_pretty} about {time}|`,
    );
    expect(shown({ kind: 'too-early' })).toContain('too early to tell');
    expect(shown({ kind: 'used-up' })).not.toContain('at this pace');
  });

  it('the help shows every form of the command, each once', () => {
    const text = JSON.stringify(replies.help());
    for (const usage of Object.values(USAGE)) {
      if (usage === USAGE.help) continue;
      expect(text.split(JSON.stringify(`\`${escape(usage)}\``).slice(1, -1)).length - 1, usage).toBe(1);
    }
  });

  it('a usage mistake is escaped and shows the usage', () => {
    const message = replies.usageError(new UsageError('`<!channel>` is not a /kling command.'));
    expect(JSON.stringify(message)).not.toContain('<!channel>');
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
  });

  it('history of 20 long prompts stays within limits', () => {
    const jobs = Array.from({ length: 25 }, (_, i) =>
      job({ id: `kbb_${i}`, request: { model_name: 'kling-v2-6', prompt: longPrompt(2500) } }),
    );
    expect(validateBlocks(replies.history(jobs).blocks, 'message')).toBeUndefined();
  });

  it('elapsed reads like a person would say it', () => {
    expect(elapsed(NOW, new Date(NOW.getTime() + 42_000))).toBe('42s');
    expect(elapsed(NOW, new Date(NOW.getTime() + 3_725_000))).toBe('1h 02m');
  });
});

describe('alerts', () => {
  it('a threshold alert names the budget, the figures and who triggered it', () => {
    const event: LedgerEvent = {
      kind: 'threshold',
      budget,
      periodStart: NOW,
      threshold: 80,
      chargedMc: mc(40_000),
      limitMc: mc(50_000),
      triggeredBy: 'U7',
    };
    const message = budgetAlerts([event], { creditPriceUsd: 0.14 });
    expect(JSON.stringify(message.blocks)).toContain(
      "*<#C9>'s weekly budget reached 80%*: 40 credits ($5.60) of 50 used or held",
    );
    expect(JSON.stringify(message.blocks)).toContain('Triggered by <@U7>');
    expect(message.text).toBe("C9's weekly budget reached 80%");
  });

  it('a forecast alert names the expected time and the three biggest spenders', () => {
    const event: LedgerEvent = {
      kind: 'forecast',
      budget: { ...budget, period: 'day' },
      periodStart: NOW,
      chargedMc: mc(20_000),
      limitMc: mc(50_000),
      triggeredBy: 'U7',
      runsOutAt: NOW,
      projectedMc: mc(90_000),
      spenders: [
        { userId: 'U7', chargedMc: mc(12_000) },
        { userId: 'U8', chargedMc: mc(5_000) },
        { userId: 'U9', chargedMc: mc(3_000) },
      ],
    };
    const message = budgetAlerts([event], { creditPriceUsd: 0.14 });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(
      `*At this pace <#C9>'s daily budget runs out <!date^${NOW.getTime() / 1000}^today about {time}|`,
    );
    expect(text).toContain('Biggest spenders this period: <@U7> 12, <@U8> 5, <@U9> 3.');
    expect(message.text).toBe("At this pace C9's daily budget runs out before its period ends");
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
  });

  it('a queue pause carries the Resume button and stays valid with a long reason', () => {
    const message = queuePaused(longPrompt(3000), 1102, 'T1');
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
    expect(JSON.stringify(message.blocks)).toContain('"action_id":"queue_resume"');
  });
});

describe('refusal alerts', () => {
  const refusal = (chargedMc: number): LedgerEvent => ({
    kind: 'exhausted',
    budget,
    periodStart: NOW,
    chargedMc: mc(chargedMc),
    limitMc: mc(50_000),
    triggeredBy: 'U7',
    needMc: mc(2_500),
  });

  it('say what was refused and what is left, and "exhausted" only when nothing is', () => {
    const partly = budgetAlerts([refusal(49_000)], { creditPriceUsd: 0.14 });
    expect(JSON.stringify(partly.blocks)).toContain(
      "*<#C9>'s weekly budget refused a 2.5-credit request*: 1 of 50 credits left",
    );
    expect(JSON.stringify(partly)).not.toContain('exhausted');
    const used = budgetAlerts([refusal(50_000)], { creditPriceUsd: 0.14 });
    expect(used.text).toBe("C9's weekly budget is exhausted");
  });

  it("one request's alerts are one message with one note", () => {
    const message = budgetAlerts([refusal(10_000), { ...refusal(0), budget: { ...budget, scope: 'workspace' } }], {
      creditPriceUsd: 0.14,
    });
    expect(message.blocks.filter((b) => b.type === 'section')).toHaveLength(2);
    expect(JSON.stringify(message.blocks).match(/Refused for <@U7>/g)).toHaveLength(1);
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
  });
});

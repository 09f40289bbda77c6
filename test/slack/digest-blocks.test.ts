import { describe, expect, it } from 'vitest';
import { validateBlocks } from '../../src/dev/slack-workspace';
import type { DigestContent, DigestFigures } from '../../src/digest';
import { digestMessage, estimatesLine } from '../../src/slack/blocks/digest';
import { mc } from '../../src/money/credits';

type Blocks = { type: string; text?: { text: string }; elements?: { text: string }[] }[];

function content(figures: Partial<DigestFigures> = {}, over: Partial<DigestContent> = {}): DigestContent {
  const trend = ['18', '19', '20', '21', '22', '23', '24'].map((d, i) => ({
    date: `2026-11-${d}`,
    committedMc: mc(i * 1000),
    refundedMc: mc(0),
  }));
  return {
    date: '2026-11-24',
    timezone: 'Europe/Berlin',
    creditPriceUsd: 0.14,
    catalogVersion: '2026-11',
    chart: false,
    trend,
    tips: [],
    figures: {
      budgets: [],
      people: [],
      tags: [],
      models: [],
      trend,
      jobs: [],
      totals: {
        committedMc: mc(1000),
        committedCount: 1,
        refundedMc: mc(0),
        refundedCount: 0,
        heldMc: mc(0),
        heldCount: 0,
      },
      videos: { succeeded: 1, failed: 0, cancelled: 0, refused: 0, unfinished: 0, medianSeconds: 42 },
      ...figures,
    },
    ...over,
  };
}

const model = (name: string) => ({
  endpoint: 'text2video',
  model: name,
  mode: 'pro',
  duration: '5',
  sound: false,
  configs: 1,
  videos: 1,
  committedMc: mc(1000),
});
const sectionText = (blocks: Blocks, heading: string) =>
  blocks.find((b) => b.type === 'section' && b.text!.text.startsWith(heading))!.text!.text;

describe('the digest message', () => {
  it('names people from the names given, escaped, and never @-mentions them', () => {
    const people = [
      { userId: 'U1', people: 1, committedMc: mc(1000), heldMc: mc(0), refundedMc: mc(0), videos: 1 },
      { userId: 'U2', people: 1, committedMc: mc(500), heldMc: mc(0), refundedMc: mc(0), videos: 1 },
    ];
    const text = sectionText(
      digestMessage(content({ people }), new Map([['U1', 'Ada <3 & co']])).blocks as Blocks,
      '*Who spent*',
    );
    expect(text).toContain('1. *Ada &lt;3 &amp; co* 1 credit ($0.14), 1 job');
    expect(text).toContain('2. *U2* 0.5 credits'); // no name known: the id, never a mention
    expect(text).not.toContain('<@');
  });

  it('escapes the text that came from a request or a setting, so nothing pings', () => {
    const message = digestMessage(
      content(
        {
          models: [model('<!channel> & co')],
          people: [
            { userId: '<!here>', people: 1, committedMc: mc(1000), heldMc: mc(0), refundedMc: mc(0), videos: 1 },
          ],
        },
        { timezone: 'Etc/<!everyone>&', catalogVersion: 'v<1>&2' },
      ),
    );
    const blocks = message.blocks as Blocks;
    expect(sectionText(blocks, '*On what*')).toContain('• &lt;!channel&gt; &amp; co · pro · 5 s: 1 credit, 1 video');
    expect(sectionText(blocks, '*Who spent*')).toContain('1. *&lt;!here&gt;*');
    const footer = blocks.find((b) => b.type === 'context')!.elements![0]!.text;
    expect(footer).toBe('Times in Etc/&lt;!everyone&gt;&amp; · $0.14 a credit · prices from catalog v&lt;1&gt;&amp;2');
    const all = JSON.stringify(message.blocks);
    for (const raw of ['<!channel>', '<!here>', '<!everyone>', '<1>', '& co']) expect(all).not.toContain(raw);
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
  });

  it('clips a very long line at Slack’s limit without splitting an emoji', () => {
    // 4 UTF-16 units each: a cut at the section limit by length alone would land inside one.
    const emoji = '👍🏽';
    const message = digestMessage(
      content({ models: [model(emoji.repeat(1000))] }, { timezone: `Zone/${emoji.repeat(600)}` }),
    );
    const blocks = message.blocks as Blocks;
    const models = sectionText(blocks, '*On what*');
    expect(models.length).toBeLessThanOrEqual(3000);
    expect(models).toMatch(/^\*On what\*\n• (👍🏽)+…$/u);
    const footer = blocks.find((b) => b.type === 'context')!.elements![0]!.text;
    expect(footer.length).toBeLessThanOrEqual(2000);
    expect(footer).toMatch(/^Times in Zone\/(👍🏽)+…$/u);
    expect(validateBlocks(message.blocks, 'message')).toBeUndefined();
  });

  it('draws each workspace budget as a bar of used to limit', () => {
    const budget = { budgetId: 1, hard: true, heldMc: mc(0), closed: false };
    const message = digestMessage(
      content({
        budgets: [
          { ...budget, period: 'day', limitMc: mc(10_000), committedMc: mc(4_000), heldMc: mc(1_200), closed: true },
          { ...budget, period: 'week', limitMc: mc(3_000), committedMc: mc(9_000), hard: false },
          { ...budget, period: 'month', limitMc: mc(0), committedMc: mc(0) },
        ],
      }),
    );
    expect(sectionText(message.blocks as Blocks, '*Workspace')).toBe(
      [
        '*Workspace daily budget* █████░░░░░ 52%',
        '4 spent + 1.2 held of 10 credits · period closed',
        '*Workspace weekly budget* ██████████ 300%',
        '9 spent of 3 credits (soft) · this week so far',
        '*Workspace monthly budget* ░░░░░░░░░░ 0%',
        '0 spent of 0 credits · this month so far',
      ].join('\n'),
    );
  });

  it('draws the trend as text unless the chart goes with it', () => {
    const text = sectionText(digestMessage(content()).blocks as Blocks, '*Last 7 days*');
    expect(text).toBe('*Last 7 days* ▁▂▃▅▆▇█ Wed 18 – Tue 24: 21 credits ($2.94) in all, 6 on the busiest day');
    const chart = sectionText(digestMessage(content({}, { chart: true })).blocks as Blocks, '*Last 7 days*');
    expect(chart).toBe('*Last 7 days* 21 credits ($2.94) in all: the chart is attached.');
  });

  it("says how close the week's estimates were to Kling's charges, and nothing when no job was charged", () => {
    expect(estimatesLine({ jobs: 12, chargedMc: mc(250_000), deviationMc: mc(1_000) })).toBe(
      "Estimates within 0.4% of Kling's charges this week (12 jobs).",
    );
    expect(estimatesLine({ jobs: 1, chargedMc: mc(1_500), deviationMc: mc(0) })).toBe(
      "Estimates matched Kling's charges exactly this week (1 job).",
    );
    expect(estimatesLine({ jobs: 3, chargedMc: mc(2_000_000), deviationMc: mc(1) })).toContain('within less than 0.1%');
    expect(estimatesLine({ jobs: 3, chargedMc: mc(10_000), deviationMc: mc(2_500) })).toContain('within 25%');
    const shown = (figures: Partial<DigestFigures>) => JSON.stringify(digestMessage(content(figures)).blocks);
    expect(shown({ estimates: { jobs: 12, chargedMc: mc(250_000), deviationMc: mc(1_000) } })).toContain('within 0.4%');
    expect(shown({})).not.toContain('Estimates');
  });
});

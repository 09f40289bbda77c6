import { formatCredits, mc, sumMc, type Millicredits } from '../../money/credits';
import {
  dayLabel,
  plural,
  type DigestContent,
  type EstimateAccuracy,
  type ModelLine,
  type PersonLine,
  type TagLine,
} from '../../digest';
import { escape } from '../escape';
import { header } from './form';
import { bar, creditCount, credits as creditsWithUsd, PERIOD_ADJECTIVE, slackDate } from './format';
import { context, divider, message, section, type Block, type Message } from './kit';

/** The daily digest as a message: what the digest service hands over, in Slack's words. */

const SPARKS = '▁▂▃▄▅▆▇█';

/** "█████░░░░░ 52%": used of limit, capped at a full bar; a zero limit with spending reads as full. */
function budgetBar(usedMc: Millicredits, limitMc: Millicredits): string {
  const ratio = limitMc > 0 ? usedMc / limitMc : usedMc > 0 ? 1 : 0;
  return `${bar(ratio, 0, 1)} ${Math.round(ratio * 100)}%`;
}

/** "▁▂▃▅▇": one character per value, scaled to the largest. */
function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? SPARKS[0] : SPARKS[Math.round((v / max) * (SPARKS.length - 1))])).join('');
}

/** "1 min 7 s": spelled out, since the digest is read as a report rather than a live status. */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `names`: display names of the people listed (People.names); they are named, never @-mentioned, since the digest goes out daily. */
export function digestMessage(content: DigestContent, names: ReadonlyMap<string, string> = new Map()): Message {
  const { figures, creditPriceUsd: price } = content;
  const credits = (mc: Millicredits) => creditsWithUsd(mc, price);
  const { totals, videos } = figures;
  const blocks: Block[] = [header(`Kling digest · ${dayLabel(content.date)}`)];
  if (content.preview) blocks.push(previewNote(content.preview, content.date));

  const budgetLines = figures.budgets.map((b) => {
    const used = sumMc([b.committedMc, b.heldMc]);
    const state = b.period === 'day' ? (b.closed ? ' · period closed' : '') : ` · this ${b.period} so far`;
    return (
      `*Workspace ${PERIOD_ADJECTIVE[b.period]} budget* ${budgetBar(used, b.limitMc)}\n` +
      `${formatCredits(b.committedMc)} spent${b.heldMc ? ` + ${formatCredits(b.heldMc)} held` : ''} of ${formatCredits(b.limitMc)} credits${b.hard ? '' : ' (soft)'}${state}`
    );
  });
  blocks.push(section(budgetLines.length ? budgetLines.join('\n') : '_No workspace budget is set._'));

  blocks.push(
    section(
      [
        `*Spent* ${credits(totals.committedMc)} on ${plural(totals.committedCount, 'job')}`,
        totals.refundedCount
          ? `*Refunded* ${credits(totals.refundedMc)} for ${plural(totals.refundedCount, 'job')} that failed or were cancelled`
          : '*Refunded* nothing: no job failed or was cancelled',
        totals.heldCount
          ? `*Held* ${credits(totals.heldMc)} for ${plural(totals.heldCount, 'job')} not finished yet`
          : '*Held* nothing',
      ].join('\n'),
    ),
  );

  const outcome = [`${videos.succeeded} succeeded`, `${videos.failed} failed`, `${videos.cancelled} cancelled`];
  if (videos.refused) outcome.push(`${videos.refused} refused by a budget`);
  if (videos.unfinished) outcome.push(`${videos.unfinished} still running`);
  const median = videos.medianSeconds === null ? '' : ` · median time to video ${duration(videos.medianSeconds)}`;
  blocks.push(section(`*Jobs* ${outcome.join(' · ')}${median}`));

  blocks.push(divider());
  blocks.push(
    section(
      `*Who spent*\n${figures.people.length ? figures.people.map((p, i) => personLine(p, i, credits, names)).join('\n') : '_Nobody._'}`,
    ),
  );
  if (figures.tags.length) blocks.push(section(`*By tag*\n${figures.tags.map((t) => tagLine(t, credits)).join('\n')}`));
  blocks.push(
    section(`*On what*\n${figures.models.length ? figures.models.map((m) => modelLine(m)).join('\n') : '_Nothing._'}`),
  );

  const week = sumMc(content.trend.map((p) => p.committedMc));
  const trendText = content.chart
    ? `*Last 7 days* ${credits(week)} in all: the chart is attached.`
    : `*Last 7 days* ${sparkline(content.trend.map((p) => p.committedMc))} ${dayLabel(content.trend[0]!.date, 'short')} – ${dayLabel(content.date, 'short')}: ` +
      `${credits(week)} in all, ${formatCredits(mc(Math.max(0, ...content.trend.map((p) => p.committedMc))))} on the busiest day`;
  blocks.push(section(trendText));
  if (figures.estimates) blocks.push(context(estimatesLine(figures.estimates)));

  const tips = content.tips.map((t) => `• ${t.text} *${credits(t.savedMc)}*`);
  blocks.push(
    section(`*How to spend less*\n${tips.length ? tips.join('\n') : '_Nothing to improve in the day’s jobs._'}`),
  );

  blocks.push(
    context(
      `Times in ${escape(content.timezone)} · $${price} a credit · prices from catalog ${escape(content.catalogVersion)}`,
    ),
  );

  const text =
    `Kling digest for ${dayLabel(content.date)}: ${credits(totals.committedMc)} spent, ` +
    `${videos.succeeded} videos succeeded, ${videos.failed} failed.`;
  return message(text, blocks);
}

/** Which day a preview shows, and how to see the others: yesterday is what the next digest reports. */
function previewNote(preview: NonNullable<DigestContent['preview']>, date: string): Block {
  const which = {
    yesterday: `*Preview of yesterday, ${dayLabel(date)}*: the day the next digest reports.`,
    today: `*Preview of today so far, ${dayLabel(date)}*, until ${slackDate(preview.at, '{time}')}.`,
    date: `*Preview of ${dayLabel(date)}*.`,
  }[preview.of];
  const others =
    preview.of === 'today'
      ? '`/kling digest preview` shows yesterday'
      : '`/kling digest preview today` shows today so far';
  return context(`${which} ${others}; \`/kling digest preview 2026-03-29\` any earlier day.`);
}

function personLine(
  p: PersonLine,
  index: number,
  credits: (mc: Millicredits) => string,
  names: ReadonlyMap<string, string>,
): string {
  const held = p.heldMc ? ` + ${formatCredits(p.heldMc)} held` : '';
  if (p.userId === null)
    return `…and ${plural(p.people, 'other person').replace('persons', 'people')}: ${credits(p.committedMc)}${held}, ${plural(p.videos, 'job')}`;
  return `${index + 1}. *${escape(names.get(p.userId) ?? p.userId)}* ${credits(p.committedMc)}${held}, ${plural(p.videos, 'job')}`;
}

function tagLine(t: TagLine, credits: (mc: Millicredits) => string): string {
  const held = t.heldMc ? ` + ${formatCredits(t.heldMc)} held` : '';
  return `• \`${escape(t.tag)}\` ${credits(t.committedMc)}${held}, ${plural(t.videos, 'job')}`;
}

function modelLine(m: ModelLine): string {
  const spent = `${creditCount(m.committedMc)}, ${plural(m.videos, 'video')}`;
  if (m.model === null) return `• …and ${plural(m.configs, 'other setting')}: ${spent}`;
  const parts = [m.model, m.mode, m.duration ? `${m.duration} s` : null, m.sound ? 'audio' : null].filter(Boolean);
  const endpoint = m.endpoint === 'text2video' ? '' : ` (${m.endpoint})`;
  return `• ${escape(parts.join(' · '))}${escape(endpoint)}: ${spent}`;
}

/** "Estimates within 0.4% of Kling's charges this week (12 videos)". */
export function estimatesLine(e: EstimateAccuracy): string {
  const jobs = plural(e.jobs, 'job');
  if (e.deviationMc === 0) return `Estimates matched Kling's charges exactly this week (${jobs}).`;
  const percent = e.chargedMc > 0 ? (e.deviationMc * 100) / e.chargedMc : 100;
  const shown =
    percent < 0.1 ? '0.1' : percent < 10 ? percent.toFixed(1).replace(/\.0$/, '') : String(Math.round(percent));
  return `Estimates within ${percent < 0.1 ? 'less than ' : ''}${shown}% of Kling's charges this week (${jobs}).`;
}

import { formatCredits, formatUsd, type Millicredits } from '../money/credits';
import { plural, type SavingsTip } from './savings';
import type { DigestFigures, ModelLine, PersonLine, TrendPoint } from './store';

/** Everything one digest message shows; built from the store's figures, rendered by the pure functions below. */
export interface DigestContent {
  /** "2026-11-24", the local day reported on. */
  date: string;
  timezone: string;
  figures: DigestFigures;
  /** The seven days ending with `date`, oldest first. */
  trend: TrendPoint[];
  tips: SavingsTip[];
  creditPriceUsd: number;
  catalogVersion: string;
  /** The trend goes as a chart image; otherwise it is drawn as a text sparkline. */
  chart: boolean;
}

export interface DigestMessage {
  text: string;
  blocks: unknown[];
}

const SECTION_MAX = 3000;
const BAR_CELLS = 10;
const SPARKS = '▁▂▃▄▅▆▇█';

/** Slack mrkdwn control characters; everything shown that came from a request goes through here. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "█████░░░░░ 52%": used of limit, capped at a full bar. */
export function bar(usedMc: Millicredits, limitMc: Millicredits): string {
  const ratio = limitMc > 0 ? usedMc / limitMc : usedMc > 0 ? 1 : 0;
  const full = Math.min(BAR_CELLS, Math.round(ratio * BAR_CELLS));
  return `${'█'.repeat(full)}${'░'.repeat(BAR_CELLS - full)} ${Math.round(ratio * 100)}%`;
}

/** "▁▂▃▅▇": one character per value, scaled to the largest. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? SPARKS[0] : SPARKS[Math.round((v / max) * (SPARKS.length - 1))])).join('');
}

/** "Tue 24 Nov 2026" for a calendar date string. */
export function dayLabel(date: string, style: 'long' | 'short' = 'long'): string {
  const [y, m, d] = date.split('-').map(Number);
  const options: Intl.DateTimeFormatOptions = style === 'long'
    ? { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }
    : { timeZone: 'UTC', weekday: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat('en-GB', options).format(new Date(Date.UTC(y!, m! - 1, d!))).replace(',', '');
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function section(text: string): unknown {
  const fitted = text.length > SECTION_MAX ? `${text.slice(0, SECTION_MAX - 1)}…` : text;
  return { type: 'section', text: { type: 'mrkdwn', text: fitted } };
}

const PERIOD_NAME = { day: 'daily', week: 'weekly', month: 'monthly' } as const;

/** True when the day had nothing to report: no hold taken and no job asked for. */
export function isEmptyDay(figures: DigestFigures): boolean {
  const { totals: t, videos: v } = figures;
  return t.committedCount + t.refundedCount + t.heldCount + v.succeeded + v.failed + v.cancelled + v.refused + v.unfinished === 0;
}

export function buildDigestMessage(content: DigestContent): DigestMessage {
  const { figures, creditPriceUsd: price } = content;
  const credits = (mc: Millicredits) => `${formatCredits(mc)} credits (${formatUsd(mc, price)})`;
  const { totals, videos } = figures;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `Kling digest · ${dayLabel(content.date)}`, emoji: true } },
  ];

  const budgetLines = figures.budgets.map((b) => {
    const used = b.committedMc + b.heldMc;
    const state = b.period === 'day' ? (b.closed ? ' · period closed' : '') : ` · this ${b.period} so far`;
    return `*Workspace ${PERIOD_NAME[b.period]} budget* \`${bar(used, b.limitMc)}\`\n` +
      `${formatCredits(b.committedMc)} spent${b.heldMc ? ` + ${formatCredits(b.heldMc)} held` : ''} of ${formatCredits(b.limitMc)} credits${b.hard ? '' : ' (soft)'}${state}`;
  });
  blocks.push(section(budgetLines.length ? budgetLines.join('\n') : '_No workspace budget is set._'));

  blocks.push(section([
    `*Spent* ${credits(totals.committedMc)} on ${plural(totals.committedCount, 'job')}`,
    totals.refundedCount
      ? `*Refunded* ${credits(totals.refundedMc)} for ${plural(totals.refundedCount, 'job')} that failed or were cancelled`
      : '*Refunded* nothing: no job failed or was cancelled',
    totals.heldCount ? `*Held* ${credits(totals.heldMc)} for ${plural(totals.heldCount, 'job')} not finished yet` : '*Held* nothing',
  ].join('\n')));

  const outcome = [`${videos.succeeded} succeeded`, `${videos.failed} failed`, `${videos.cancelled} cancelled`];
  if (videos.refused) outcome.push(`${videos.refused} refused by a budget`);
  if (videos.unfinished) outcome.push(`${videos.unfinished} still running`);
  const median = videos.medianSeconds === null ? '' : ` · median time to video ${duration(videos.medianSeconds)}`;
  blocks.push(section(`*Jobs* ${outcome.join(' · ')}${median}`));

  blocks.push({ type: 'divider' });
  blocks.push(section(`*Who spent*\n${figures.people.length ? figures.people.map((p, i) => personLine(p, i, credits)).join('\n') : '_Nobody._'}`));
  blocks.push(section(`*On what*\n${figures.models.length ? figures.models.map((m) => modelLine(m)).join('\n') : '_Nothing._'}`));

  const week = content.trend.reduce((sum, p) => sum + p.committedMc, 0);
  const trendText = content.chart
    ? `*Last 7 days* ${credits(week)} in all: the chart is attached.`
    : `*Last 7 days* \`${sparkline(content.trend.map((p) => p.committedMc))}\` ${dayLabel(content.trend[0]!.date, 'short')} – ${dayLabel(content.date, 'short')}: ` +
      `${credits(week)} in all, ${formatCredits(Math.max(0, ...content.trend.map((p) => p.committedMc)))} on the busiest day`;
  blocks.push(section(trendText));

  const tips = content.tips.map((t) => `• ${t.text} *${credits(t.savedMc)}*`);
  blocks.push(section(`*How to spend less*\n${tips.length ? tips.join('\n') : '_Nothing to improve in the day’s jobs._'}`));

  blocks.push({
    type: 'context',
    elements: [{
      type: 'mrkdwn',
      text: `Times in ${escapeText(content.timezone)} · $${price} a credit · prices from catalog ${escapeText(content.catalogVersion)}`,
    }],
  });

  const text = `Kling digest for ${dayLabel(content.date)}: ${credits(totals.committedMc)} spent, ` +
    `${videos.succeeded} videos succeeded, ${videos.failed} failed.`;
  return { text, blocks };
}

function personLine(p: PersonLine, index: number, credits: (mc: Millicredits) => string): string {
  const held = p.heldMc ? ` + ${formatCredits(p.heldMc)} held` : '';
  if (p.userId === null) return `…and ${plural(p.people, 'other person').replace('persons', 'people')}: ${credits(p.committedMc)}${held}, ${plural(p.videos, 'job')}`;
  return `${index + 1}. <@${escapeText(p.userId)}> ${credits(p.committedMc)}${held}, ${plural(p.videos, 'job')}`;
}

function modelLine(m: ModelLine): string {
  const spent = `${formatCredits(m.committedMc)} credits, ${plural(m.videos, 'video')}`;
  if (m.model === null) return `• …and ${plural(m.configs, 'other setting')}: ${spent}`;
  const parts = [m.model, m.mode, m.duration ? `${m.duration} s` : null, m.sound ? 'audio' : null].filter(Boolean);
  const endpoint = m.endpoint === 'text2video' ? '' : ` (${m.endpoint})`;
  return `• ${escapeText(parts.join(' · '))}${escapeText(endpoint)}: ${spent}`;
}

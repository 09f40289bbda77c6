import { formatCredits, formatUsd, MILLI, mc, type Millicredits } from '../../money/credits';
import type { BudgetRef, Forecast, Usage } from '../../budget';
import type { Generation, GenerationState } from '../../generations';
import { escape } from '../escape';

/** Wording shared by the builders: budgets, amounts, states and durations in the product's terms. */

export const PERIOD_ADJECTIVE = { day: 'daily', week: 'weekly', month: 'monthly' } as const;

export function budgetName(budget: Pick<BudgetRef, 'scope' | 'scopeId' | 'period'>): string {
  const kind = `${PERIOD_ADJECTIVE[budget.period]} budget`;
  if (budget.scope === 'workspace') return `the workspace ${kind}`;
  // A tag is lowercase letters, digits and dashes only: nothing in it needs escaping.
  if (budget.scope === 'tag') return `the tag \`${budget.scopeId}\`'s ${kind}`;
  return budget.scope === 'channel' ? `<#${budget.scopeId}>'s ${kind}` : `<@${budget.scopeId}>'s ${kind}`;
}

export function credits(amount: Millicredits, creditPriceUsd: number): string {
  return `${creditCount(amount)} (${formatUsd(amount, creditPriceUsd)})`;
}

/** "1 credit", "2.5 credits". */
export function creditCount(amount: Millicredits): string {
  return `${formatCredits(amount)} credit${amount === 1000 ? '' : 's'}`;
}

/** "kling-v2-6 pro · 10 s · audio · 16:9 · from an image", from a Kling request body. */
export function describeRequest(body: Record<string, unknown>, endpoint?: string): string {
  // The new-standard API names the model in the path and keeps the priced fields in `settings`.
  const settings = (body.settings ?? {}) as Record<string, unknown>;
  const standard = endpoint?.startsWith('text-to-video/') === true;
  const parts = [standard ? endpoint!.slice('text-to-video/'.length) : String(body.model_name ?? 'kling')];
  const quality = standard ? settings.resolution : body.mode;
  if (quality) parts[0] += ` ${String(quality)}`;
  const duration = standard ? settings.duration : body.duration;
  if (duration) parts.push(`${String(duration)} s`);
  parts.push((standard ? settings.audio === 'native' : body.sound === 'on') ? 'audio' : 'silent');
  if (standard ? settings.multi_shot === true : body.multi_shot === true) parts.push('multi-shot');
  const aspect = standard ? settings.aspect_ratio : body.aspect_ratio;
  if (aspect) parts.push(String(aspect));
  if (body.image || (Array.isArray(body.image_list) && body.image_list.length > 0)) parts.push('from an image');
  if (Array.isArray(body.video_list) && body.video_list.length > 0) parts.push('with a reference video');
  return escape(parts.join(' · '));
}

export const STATE_LABEL: Record<GenerationState, string> = {
  queued: ':hourglass_flowing_sand: Queued',
  submitting: ':outbox_tray: Sending to Kling',
  submitted: ':inbox_tray: Waiting at Kling',
  processing: ':gear: Generating',
  succeeded: ':white_check_mark: Done',
  failed: ':x: Failed',
  cancelled: ':no_entry_sign: Cancelled',
  refused: ':no_entry: Refused',
};

export function elapsed(from: Date, to: Date): string {
  const seconds = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** "#2FC2": how a job is named to people; its full id is Kling's task id. */
export function jobRef(job: Pick<Generation, 'shortId'>): string {
  return `#${escape(job.shortId)}`;
}

/** A ten-cell bar: █ committed, ▒ held, ░ free. */
export function bar(committedMc: number, heldMc: number, limitMc: number): string {
  if (limitMc <= 0) return '░'.repeat(10);
  const committed = Math.min(10, Math.round((committedMc / limitMc) * 10));
  const held = Math.min(10 - committed, Math.round((heldMc / limitMc) * 10));
  return `${'█'.repeat(committed)}${'▒'.repeat(held)}${'░'.repeat(10 - committed - held)}`;
}

/** Slack renders the date in each reader's own timezone; `fallback` is for clients that cannot. */
export function slackDate(
  date: Date,
  format = '{date_short_pretty} {time}',
  fallback = `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^${format}|${fallback}>`;
}

/** A budget's usage with where its period is heading (none when nothing was forecast). */
export type ForecastUsage = Usage & { forecast?: Forecast };

/** A run-out time's Slack date format: within a day it is today; a week or month names the day. */
export function aboutTime(period: BudgetRef['period']): string {
  return period === 'day' ? 'today about {time}' : '{date_short_pretty} about {time}';
}

/** "at this pace: runs out today about 15:40" or "…ends the day at about 62 of 100"; nothing once used up. */
export function forecastLine(u: ForecastUsage): string | undefined {
  const f = u.forecast;
  if (!f || f.kind === 'used-up') return undefined;
  if (f.kind === 'too-early') return '_at this pace: too early to tell_';
  if (f.kind === 'runs-out')
    return `:crystal_ball: at this pace: *runs out ${slackDate(f.at, aboutTime(u.budget.period))}*`;
  const projected = formatCredits(mc(Math.round(f.projectedMc / MILLI) * MILLI));
  return `at this pace: ends the ${u.budget.period} at about ${projected} of ${formatCredits(u.limitMc)}`;
}

/** A budget's active raises, one line each ("+20 credits until … (raised by @admin)"), each starting a new line. */
export function raiseLines(u: Pick<Usage, 'raises'>): string {
  return u.raises
    .map(
      (r) =>
        `\n:arrow_up: +${formatCredits(r.amountMc)} credits until ${slackDate(r.endsAt)} (raised by <@${r.grantedBy}>)`,
    )
    .join('');
}

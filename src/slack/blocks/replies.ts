import type { Quote } from '../../pricing';
import type { Refusal, Usage } from '../../budget';
import type { Generation, QueuePause } from '../../generations';
import { formatCredits, subMc, type Millicredits } from '../../money/credits';
import { PROMPT_LIMIT, USAGE, type UsageError } from '../commands/parse';
import { escape, truncate } from '../escape';
import { ActionId } from '../ids';
import { lineage } from './job-card';
import { actions, button, context, message, section, type Block, type Message } from './kit';
import {
  bar,
  budgetName,
  credits,
  describeRequest,
  forecastLine,
  jobRef,
  raiseLines,
  slackDate,
  STATE_LABEL,
  type ForecastUsage,
} from './format';

/** Ephemeral answers to /kling: what only the person who typed the command sees. */

export function notice(text: string): Message {
  return message(text, [section(text)]);
}

const THIS_PERIOD = { day: 'today', week: 'this week', month: 'this month' } as const;

/** An admin set a budget: its limit, and how the current period stands (what was spent before it counts). */
export function budgetSet(usage: Usage): Message {
  const { budget } = usage;
  const spent = usage.chargedMc
    ? ` ${formatCredits(usage.chargedMc)} already spent ${THIS_PERIOD[budget.period]}: ${formatCredits(usage.remainingMc)} left.`
    : '';
  return notice(
    `:white_check_mark: ${budgetName(budget)} is now ${formatCredits(budget.limitMc)} credits (alerts at ${budget.thresholds.join('%, ')}%).${spent}`,
  );
}

export function usageError(error: UsageError): Message {
  const usages = error.usage === 'all' ? Object.values(USAGE) : [USAGE[error.usage]];
  return message(escape(error.message), [
    section(`:warning: ${escape(error.message)}`),
    context(`Usage: ${usages.map((u) => `\`${escape(u)}\``).join('\n')}`),
  ]);
}

const modelLine = (m: { name: string; offers: string }) => `• \`${escape(m.name)}\` ${escape(m.offers)}`;

/** `models`: the price list's video models, each with what it offers. */
export function help(models: { name: string; offers: string }[] = []): Message {
  const lines = [
    ['generate', 'make a video; the price is held against your budgets first'],
    ['estimate', 'the price, the budgets it would touch and cheaper options, without spending'],
    ['image', 'make 1 to 9 images; priced in image units, held like a video'],
    ['batch', 'many prompts at once'],
    ['budget', 'what you, this channel and the workspace have left'],
    ['history', 'your recent videos'],
    ['status', 'one job, or without an id the queue: running, or paused and why'],
    ['cancel', 'a job that has not reached Kling yet'],
    ['export', 'your spending as a CSV file in a direct message (admins: the whole workspace)'],
  ] as const;
  // Every other form is an admin's: derived, so a new subcommand cannot be left out of the help.
  const forEveryone = new Set<string>([...lines.map(([k]) => k), 'help']);
  const admin = Object.entries(USAGE)
    .filter(([k]) => !forEveryone.has(k))
    .map(([, usage]) => usage);
  return message('How to use /kling', [
    section(
      `*/kling* makes Kling AI videos within the team's budgets.\n${lines.map(([k, what]) => `\`${escape(USAGE[k])}\`\n      ${what}`).join('\n')}`,
    ),
    ...(models.length > 0 ? [section(`*Models* (\`--model\`)\n${models.map(modelLine).join('\n')}`)] : []),
    section(`*Admins*\n${admin.map((u) => `\`${escape(u)}\``).join('\n')}`),
    context(
      'Forecast alerts: a budget that will run out before its period ends at the recent pace (once per period). ' +
        'Spike alerts: a person or channel spending today more than the factor times their usual day (the median ' +
        'of the 14 days before) and more than the minimum (once a day).',
    ),
    context(
      'Defaults: std mode, 5 s, no audio. `--multishot` lets Kling cut the prompt into shots; `--video URL` gives the ' +
        `omni models a reference video. \`--draft\` picks the cheapest version of your request. Prompts up to ${PROMPT_LIMIT.toLocaleString('en-US')} characters.`,
    ),
  ]);
}

export interface PriceContext {
  creditPriceUsd: number;
}

function alternativesText(quote: Quote, options: PriceContext): string | undefined {
  if (!quote.alternatives.length) return undefined;
  const shown = quote.alternatives
    .slice(0, 6)
    .map(
      (a) => `• ${escape(a.label)}: ${credits(a.priceMc, options.creditPriceUsd)}, saves ${formatCredits(a.savesMc)}`,
    );
  return `*Cheaper options*\n${shown.join('\n')}`;
}

export function estimate(quote: Quote, usages: Usage[], options: PriceContext): Message {
  const price = credits(quote.priceMc, options.creditPriceUsd);
  const budgetLines = usages.map((u) => {
    const fits = u.remainingMc >= quote.priceMc;
    const verdict = !u.budget.hard
      ? 'soft limit, alerts only'
      : fits
        ? 'fits'
        : `*would not fit*, short by ${formatCredits(subMc(quote.priceMc, u.remainingMc))}`;
    return `• ${budgetName(u.budget)}: ${formatCredits(u.remainingMc)} of ${formatCredits(u.limitMc)} left, ${verdict}`;
  });
  const blocks: Block[] = [
    section(`*${describeRequest(quote.request.body, quote.request.endpoint)}* costs *${price}*.`),
    section(
      budgetLines.length ? `*Budgets it would use*\n${budgetLines.join('\n')}` : 'No budget applies to this request.',
    ),
  ];
  const alternatives = alternativesText(quote, options);
  if (alternatives) blocks.push(section(alternatives));
  blocks.push(context(`Price list ${escape(quote.catalogVersion)} · nothing was spent`));
  return message(`Estimate: ${formatCredits(quote.priceMc)} credits`, blocks);
}

export type QueueRefusal = Refusal | { kind: 'user-queue-full'; limit: number };

export function refusal(
  refused: QueueRefusal,
  _quote: Quote,
  options: PriceContext & { approvalValue?: string },
): Message {
  if ('kind' in refused) {
    return notice(
      `:no_entry: You already have ${refused.limit} videos waiting in the queue. Wait for one to start, or cancel one with \`/kling cancel <id>\`.`,
    );
  }
  const name = budgetName(refused.budget);
  const blocks: Block[] = [
    section(
      `:no_entry: Not queued: this needs *${credits(refused.neededMc, options.creditPriceUsd)}* but ${name} has *${formatCredits(refused.remainingMc)}* left until ${slackDate(refused.periodEnd)}.`,
    ),
  ];
  const fit = refused.fittingAlternative;
  if (fit)
    blocks.push(
      section(
        `*${escape(fit.label)}* would cost ${credits(fit.amountMc, options.creditPriceUsd)} and fits. Try \`--draft\` for the cheapest version.`,
      ),
    );
  else blocks.push(context('No cheaper version of this request fits what is left.'));
  const { scope, scopeId, period } = refused.budget;
  if (scope === 'tag') {
    // A project's budget is the project's: no raise for one person's request, only a new limit.
    blocks.push(
      context(
        `This request carries the project tag \`${scopeId}\`, and ${name} is what stops it. An admin can raise it with \`/kling budget set tag:${scopeId} ${period} <credits>\`.`,
      ),
    );
  } else if (options.approvalValue && scope !== 'workspace') {
    blocks.push(
      section(
        `An admin can raise ${name} for a while, or approve this one request.`,
        button('Request a raise', ActionId.requestApproval, options.approvalValue),
      ),
    );
  }
  return message(`Over budget: ${formatCredits(refused.remainingMc)} credits left`, blocks);
}

/** A second click or a replayed command queued nothing: what the first one queued, and where it is now. */
export function alreadyQueued(jobs: Generation[]): Message {
  const [job] = jobs;
  if (jobs.length !== 1 || !job) {
    return notice(`:white_check_mark: Already done: this queued ${jobs.length} jobs. Their cards are in the channel.`);
  }
  const now = STATE_LABEL[job.state];
  const id = escape(job.id);
  return notice(`:white_check_mark: Already done: this queued job \`${id}\` (now ${now}). Its card is in the channel.`);
}

export function confirmPrice(quote: Quote, thresholdMc: Millicredits, value: string, options: PriceContext): Message {
  return message(`Confirm ${formatCredits(quote.priceMc)} credits`, [
    section(
      `*${describeRequest(quote.request.body, quote.request.endpoint)}* costs *${credits(quote.priceMc, options.creditPriceUsd)}*, above this workspace's confirmation threshold of ${formatCredits(thresholdMc)} credits.`,
    ),
    actions(
      button(`Generate for ${formatCredits(quote.priceMc)} credits`, ActionId.confirmGenerate, value, {
        style: 'primary',
      }),
      button('Never mind', ActionId.dismiss, 'dismiss'),
    ),
  ]);
}

export function duplicateOffer(earlier: Generation, quote: Quote, value: string, options: PriceContext): Message {
  const url = earlier.result?.videos[0]?.url ?? earlier.result?.images[0]?.url;
  const link = url ? `<${url.replace(/[|<>]/g, encodeURIComponent)}|watch it>` : `job \`${escape(earlier.id)}\``;
  return message('This video already exists', [
    section(
      `:recycle: <@${earlier.userId}> made exactly this video ${slackDate(earlier.endedAt ?? earlier.createdAt)}: ${link}. Reusing it costs nothing.`,
    ),
    actions(
      button(`Generate anyway (${formatCredits(quote.priceMc)} credits)`, ActionId.generateAnyway, value),
      button('Never mind', ActionId.dismiss, 'dismiss'),
    ),
    context(`A new one would cost ${credits(quote.priceMc, options.creditPriceUsd)}.`),
  ]);
}

/** `past`: the periods of an earlier day, week or month (`label`): they ended, nothing can be spent in them. */
export function budgets(
  usages: ForecastUsage[],
  options: PriceContext & { isAdmin: boolean; past?: { label: string } },
): Message {
  const { past } = options;
  const blocks: Block[] = usages.length
    ? usages.slice(0, 20).map((u) => {
        const forecast = forecastLine(u);
        const ended = past && u.periodEnd <= new Date();
        const end = `${ended ? 'ended' : 'resets'} ${slackDate(u.periodEnd)}`;
        return section(
          `*${budgetName(u.budget)}*${u.budget.hard ? '' : ' (soft)'}\n${bar(u.committedMc, u.heldMc, u.limitMc)} ${Math.round(u.percent)}%\n` +
            `used ${formatCredits(u.committedMc)} · held ${formatCredits(u.heldMc)} · *${formatCredits(u.remainingMc)} left* of ${formatCredits(u.limitMc)} · ${end}` +
            raiseLines(u) +
            (forecast ? `\n${forecast}` : ''),
        );
      })
    : [section('No budget applies to you here.')];
  if (past) blocks.unshift(section(`*Your budgets in ${escape(past.label)}*`));
  const tightest = usages.filter((u) => u.budget.hard).sort((a, b) => a.remainingMc - b.remainingMc)[0];
  if (tightest && !past) {
    blocks.push(context(`You can spend up to ${credits(tightest.remainingMc, options.creditPriceUsd)} right now.`));
  }
  if (options.isAdmin)
    blocks.push(
      context(
        `Admin: \`${escape(USAGE.budgetSet)}\` · \`${escape(USAGE.budgetThresholds)}\` · \`${escape(USAGE.budgetAlerts)}\` · \`${escape(USAGE.budgetConfirm)}\``,
      ),
    );
  return message('Your budgets', blocks);
}

export function history(jobs: Generation[]): Message {
  if (!jobs.length)
    return notice('You have not made any videos yet. Try `/kling generate a fox running through snow`.');
  const lines = jobs.slice(0, 20).map((job) => {
    const prompt =
      typeof job.request.prompt === 'string' && job.request.prompt
        ? truncate(job.request.prompt, 90)
        : 'image to video';
    const cost = formatCredits(job.state === 'succeeded' ? (job.actualMc ?? job.estimateMc) : job.estimateMc);
    const link = job.result?.videos[0]?.url;
    const tag = job.tag ? ` · \`${job.tag}\`` : '';
    const when = slackDate(job.createdAt, '{date_short} {time}');
    const parent = job.parentId && job.followUp ? ` · ${lineage(job.followUp, job.parentId)}` : '';
    return (
      `${STATE_LABEL[job.state].split(' ')[0]} *${jobRef(job)}* ${when} · ${cost} cr${tag} · ${prompt}${link ? ` · <${link.replace(/[|<>]/g, encodeURIComponent)}|video>` : ''}` +
      parent
    );
  });
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(lines.slice(i, i + 10).join('\n')));
  blocks.push(context(`Your latest ${lines.length} · \`/kling status #id\` shows one job`));
  // A list, not a wall of players: the video links stay links.
  return { ...message('Your recent videos', blocks), unfurl_links: false, unfurl_media: false };
}

/** A typed job reference that matched no job, or several. */
export function jobNotFound(ref: string, matches: Generation[]): Message {
  if (!matches.length) {
    return notice(`There is no job \`${escape(ref)}\` in this workspace. \`/kling history\` lists yours.`);
  }
  const lines = matches.map((job) => {
    const prompt =
      typeof job.request.prompt === 'string' && job.request.prompt
        ? truncate(job.request.prompt, 60)
        : 'image to video';
    return `• *${jobRef(job)}* <@${job.userId}> · ${prompt}`;
  });
  return notice(`\`${escape(ref)}\` could be any of these jobs; type more of its id:\n${lines.join('\n')}`);
}

/** `/kling status` without an id: the workspace's queue; when paused, since when, why and how to resume it. */
export function queueStatus(pause: QueuePause | undefined): Message {
  if (!pause) {
    const running = ':arrow_forward: The video queue is running.';
    return notice(`${running} \`/kling status <id>\` shows one job; \`/kling history\` lists yours.`);
  }
  const text =
    `:double_vertical_bar: *The video queue is paused* since ${slackDate(pause.since)}: ` +
    `Kling refused new work: ${escape(truncate(pause.reason, 500))}\n` +
    'Queued videos wait with their credits held. Once the Kling resource pack is topped up or renewed, ' +
    `an admin resumes it with \`${USAGE.queue}\`.`;
  return notice(text);
}

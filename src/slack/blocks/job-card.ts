import { ENDED, type FollowUp, type FollowUpKind, type Generation } from '../../generations';
import { escape, truncate } from '../escape';
import { ActionId } from '../ids';
import { actions, button, context, message, section, type Block, type Message } from './kit';
import { formatCredits } from '../../money/credits';
import { credits, describeRequest, elapsed, jobRef, slackDate, STATE_LABEL } from './format';

export interface CardOptions {
  now: Date;
  creditPriceUsd: number;
  /** A finished card's follow-ups as the catalog prices them, each with its button's value. */
  followUps?: (FollowUp & { value: string })[];
  /** A queued job's place among the workspace's queued jobs (1: next), read from the queue at render time. */
  place?: number;
}

const FOLLOW_UP_NAME: Record<FollowUpKind, string> = { reroll: 're-roll', extend: 'extend', upgrade: 'upgrade' };

/** "↳ extend of `job-id`": the job a follow-up came from, on its card and in /kling history. */
export function lineage(kind: FollowUpKind, parentId: string): string {
  return `↳ ${FOLLOW_UP_NAME[kind]} of \`${escape(parentId)}\``;
}

const FOLLOW_UP_LABEL: Record<FollowUpKind, string> = { reroll: 'Re-roll', extend: 'Extend +5 s', upgrade: 'Upgrade' };

/** The job card: one channel message per generation, re-rendered from its row on every state change. */
export function jobCard(job: Generation, options: CardOptions): Message {
  const prompt = typeof job.request.prompt === 'string' ? job.request.prompt : '';
  const negative = typeof job.request.negative_prompt === 'string' ? job.request.negative_prompt : '';
  const ended = ENDED.includes(job.state);
  // While it runs, Slack's {ago} token keeps the time moving in every client without an update from the bot.
  const time = ended
    ? `took ${elapsed(job.createdAt, job.endedAt ?? options.now)}`
    : `started ${slackDate(job.createdAt, '{ago}', `${elapsed(job.createdAt, options.now)} ago`)}`;
  const place = job.state === 'queued' && options.place ? ` · ${ordinal(options.place)} in line` : '';
  const cost =
    job.state === 'succeeded'
      ? `charged ${credits(job.actualMc ?? job.estimateMc, options.creditPriceUsd)}`
      : `${ended ? 'estimate' : 'holding'} ${credits(job.estimateMc, options.creditPriceUsd)}`;

  const blocks: Block[] = [
    section(`${STATE_LABEL[job.state]} · <@${job.userId}> · ${time}${place}`),
    section(prompt ? `>${truncate(prompt, 2600).replace(/\n/g, '\n>')}` : '_(no prompt: animating the image)_'),
  ];
  if (negative) blocks.push(context(`Avoid: ${truncate(negative, 1500)}`));
  const tag = job.tag ? ` · tag \`${job.tag}\`` : '';
  blocks.push(context(`${describeRequest(job.request, job.endpoint)} · ${cost}${tag} · job ${jobRef(job)}`));
  if (job.parentId && job.followUp) blocks.push(context(lineage(job.followUp, job.parentId)));

  if (job.state === 'failed') {
    const reason = job.errorMessage ? truncate(job.errorMessage, 1500) : 'no reason given';
    blocks.push(
      section(
        `Kling could not make this video: ${reason}\nThe ${credits(job.estimateMc, options.creditPriceUsd)} held for it went back to the budget.`,
      ),
    );
  } else if (job.state === 'cancelled') {
    blocks.push(context(`Cancelled before it reached Kling; the credits held went back to the budget.`));
  } else if (job.state === 'succeeded') {
    blocks.push(context(`The ${job.result?.images.length ? 'images are' : 'video is'} in the thread :thread:`));
    const offered = options.followUps ?? [];
    if (offered.length > 0) {
      blocks.push(
        actions(
          ...offered.map((f) => {
            const upgrade = f.kind === 'upgrade' && `Upgrade to ${upgradedMode(f.quote.request.body)}`;
            const label = `${upgrade || FOLLOW_UP_LABEL[f.kind]} · ${formatCredits(f.quote.priceMc)} cr`;
            return button(label, ActionId[f.kind], f.value);
          }),
        ),
        context(
          offered
            .map((f) => {
              const price = credits(f.quote.priceMc, options.creditPriceUsd);
              return `${FOLLOW_UP_LABEL[f.kind]}: ${escape(f.quote.description)}, ${price}`;
            })
            .join(' · '),
        ),
      );
    }
  } else if (job.state === 'queued') {
    if (job.notBefore && job.notBefore > options.now)
      blocks.push(context(`:crescent_moon: Off-peak: waits until ${slackDate(job.notBefore)}, holding its credits.`));
    blocks.push(
      actions(
        button('Cancel', ActionId.cancelJob, job.id, {
          style: 'danger',
          confirm: {
            title: 'Cancel this video?',
            text: 'The credits held for it go back to the budget.',
            confirm: 'Cancel it',
            deny: 'Keep it',
          },
        }),
      ),
    );
  }
  const summary = prompt ? truncate(prompt, 150) : 'image to video';
  return message(`${STATE_LABEL[job.state].replace(/^:[a-z_]+: /, '')}: ${summary}`, blocks);
}

/** "1st", "2nd", "23rd". */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The words beside a video uploaded into the card's thread. */
export function videoComment(job: Generation): string {
  const duration = job.result?.videos[0]?.duration;
  return `:movie_camera: Your video${duration ? ` (${escape(duration)} s)` : ''}, kept here in Slack.`;
}

/** The thread reply under a finished card: the video (or image) links, and why the video was not uploaded. */
export function resultReply(job: Generation, notUploaded?: string): Message {
  const videos = job.result?.videos ?? [];
  const images = job.result?.images ?? [];
  const links = [
    ...videos.map(
      (v, i) =>
        `<${linkTarget(v.url)}|Video${videos.length > 1 ? ` ${i + 1}` : ''}>${v.duration ? ` (${escape(v.duration)} s)` : ''}`,
    ),
    ...images.map((img, i) => `<${linkTarget(img.url)}|Image ${i + 1}>`),
  ];
  const text = links.length
    ? `:movie_camera: ${links.join(' · ')}\nKling keeps the file for 30 days; download it to keep it.`
    : 'Kling reported success but returned no file.';
  const why = notUploaded ? `\nNot uploaded to Slack: ${escape(notUploaded)}.` : '';
  return message(links.length ? 'Your video is ready' : 'No file returned', [section(text + why)]);
}

/** The mode (or new-standard resolution) an upgrade asks for. */
function upgradedMode(body: Record<string, unknown>): string {
  const settings = (body.settings ?? {}) as { resolution?: unknown };
  return String(body.mode ?? settings.resolution ?? 'the next mode');
}

/** A URL inside `<url|label>` must not carry the characters that end the link. */
function linkTarget(url: string): string {
  return url.replace(/[|<>]/g, (c) => encodeURIComponent(c));
}

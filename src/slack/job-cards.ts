import { randomUUID } from 'node:crypto';
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { systemClock, type Clock } from '../clock';
import { followUps, type Generation, type GenerationQueue } from '../generations';
import type { PriceCatalog } from '../pricing';
import type { Logger } from '../log';
import { Ticker } from '../ticker';
import { jobCard, resultReply, videoComment } from './blocks/job-card';
import type { Message } from './blocks/kit';
import { channelClosed as closed, deliver } from './delivery';
import type { PendingRequests } from './pending';
import { NotUploaded, uploadVideo, type VideoUploadOptions } from './videos';

export interface JobCardsOptions {
  /** A client that never retries a call itself: a post whose answer was lost is looked for before it is made again. */
  client: WebClient;
  queue: GenerationQueue;
  logger: Logger;
  creditPriceUsd: number;
  /** Prices a finished card's follow-ups; without it (and `pending`) a card offers none. */
  catalog?: PriceCatalog;
  /** Encodes each follow-up button's request, with a claim of its own per render. */
  pending?: PendingRequests;
  now?: Clock;
  /** Resolves when the commands awaiting their ack are answered: a card never delays an ack. */
  acksFirst?: () => Promise<void>;
  /** How often this replica looks for cards nobody posted or brought up to date (default 10 s). */
  sweepMs?: number;
  /** How long a job's own replica has to post or update its card before any replica does (default 10 s). */
  graceMs?: number;
  /** How long a claim to post lasts: longer than a Slack call may take (default 30 s). */
  leaseMs?: number;
  /** Upload finished videos into the card's thread; without it the result reply links to Kling's copy. */
  videos?: VideoUploadOptions;
  /** How many of a workspace's first queued cards follow their place as jobs ahead leave (default 10). */
  placesShown?: number;
}

/**
 * Renders in flight at once. Slack takes about one message per second per channel, and a burst of new
 * jobs should not crowd out the acks of the commands still arriving: the cards follow at this pace.
 */
const RENDERS_AT_ONCE = 4;
/** Jobs the sweeper takes per round. */
const SWEEP_BATCH = 50;
/**
 * When a job leaves the queue, the places of the cards behind it are brought up to date this long after: the
 * jobs that leave meanwhile (a worker claims several at once) cost one look, and a card is updated once.
 */
const PLACES_TICK_MS = 1_000;
/** History pages read when looking for a post whose answer was lost. */
const LOOKUP_PAGES = 20;

/** The message metadata that marks a post as this job's card or result reply. */
const CARD_EVENT = 'kling_job_card';
const RESULT_EVENT = 'kling_job_result';
const metadata = (event: string, job: Generation) => ({ event_type: event, event_payload: { job_id: job.id } });

type Found = { channel: string; ts: string };
type Posted = { ts?: string; metadata?: unknown; files?: { name?: string }[] };
type Page = { messages?: Posted[]; response_metadata?: { next_cursor?: string } };

/** The name of a job's video in Slack: how a replica after a death recognises an upload already made. */
const videoFile = (job: Generation) => `kling-${job.id}.mp4`;

/**
 * What a finished job puts in its card's thread: its one video, or each of its images. Uploaded in order, so
 * the last one's name marks the whole upload done.
 */
function resultFiles(job: Generation): { url: string; filename: string; comment: string; noun: 'video' | 'image' }[] {
  const videos = job.result?.videos ?? [];
  if (videos.length === 1) {
    return [{ url: videos[0]!.url, filename: videoFile(job), comment: videoComment(job), noun: 'video' }];
  }
  const images = job.result?.images ?? [];
  return images.map((image, i) => ({
    url: image.url,
    filename: `kling-${job.id}-${i + 1}.png`,
    comment: `:frame_with_picture: Image ${i + 1} of ${images.length}, kept here in Slack.`,
    noun: 'image',
  }));
}

/** A message is the job's post of this kind when it carries the metadata naming the job. */
const tagged = (event: string, job: Generation) => (m: Posted) => {
  const meta = m.metadata as { event_type?: string; event_payload?: { job_id?: unknown } } | undefined;
  return meta?.event_type === event && meta.event_payload?.job_id === job.id;
};

/**
 * Keeps each job card equal to its generation row. A sync reads the row and renders it, so a sync that
 * is retried after a 429, or runs late, still shows the latest state; syncs of one job run one at a
 * time, and a burst of them collapses into one.
 *
 * Any replica posts a job's card and its result reply, each once: the post is claimed in the database
 * first, and a claim left behind by a replica that died (or a post whose answer was lost) makes the next
 * claimant look for the message in Slack, by its metadata, before posting it again. A sweeper on every
 * replica finds the jobs whose card is missing or behind and whose replica did not get to them.
 */
export class JobCards {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waiting = new Set<string>();
  /** Who claims posts in the database: this process, whatever its worker id. */
  private readonly me = `cards-${randomUUID()}`;
  private stopped = false;
  private readonly sweeper: Ticker;
  private rendering = 0;
  private readonly turns: (() => void)[] = [];
  /** Workspaces whose queued cards' places are to be looked at on the next tick. */
  private readonly placesDue = new Map<string, NodeJS.Timeout>();
  /** The places refreshes running now: stop() waits for them, as for the sweeper's tick. */
  private readonly refreshing = new Set<Promise<void>>();

  constructor(private readonly options: JobCardsOptions) {
    this.sweeper = new Ticker(() => this.sweep(), {
      everyMs: options.sweepMs ?? 10_000,
      logger: options.logger,
      failure: 'job cards could not be swept',
    });
  }

  /** Starts the sweeper. */
  start(): void {
    this.sweeper.start();
  }

  /** Renders the job into its card, posting the card (or the result reply) if nobody has. */
  sync(id: string): Promise<void> {
    if (this.waiting.has(id)) return this.chains.get(id)!;
    this.waiting.add(id);
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(() => {
        this.waiting.delete(id);
        const retry = { logger: this.options.logger, stopped: () => this.stopped };
        return deliver(`job card ${id}`, () => this.inTurn(() => this.render(id)), retry);
      })
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, generationId: id }, 'job card could not be rendered'),
      );
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.sweeper.stop();
    for (const timer of this.placesDue.values()) clearTimeout(timer);
    await Promise.allSettled([...this.refreshing]);
    await Promise.allSettled([...this.chains.values()]);
  }

  /** One round of the sweeper: syncs the jobs whose card is missing or behind (see GenerationQueue.cardsDue). */
  private async sweep(): Promise<void> {
    const due = await this.options.queue.cardsDue(this.options.graceMs ?? 10_000, SWEEP_BATCH);
    await Promise.all(due.map((id) => this.sync(id)));
  }

  /** Runs `task` when fewer than RENDERS_AT_ONCE renders are in flight (a retry's wait happens outside). */
  private async inTurn<T>(task: () => Promise<T>): Promise<T> {
    await this.options.acksFirst?.();
    if (this.rendering >= RENDERS_AT_ONCE) await new Promise<void>((resolve) => this.turns.push(resolve));
    else this.rendering++;
    try {
      return await task();
    } finally {
      const next = this.turns.shift();
      if (next) next();
      else this.rendering--;
    }
  }

  /**
   * Brings the places shown on a workspace's first queued cards up to date, on the next tick: only the cards
   * whose place moved are rendered again, so a tick in which no place changed costs Slack nothing.
   */
  private refreshPlaces(teamId: string): void {
    if (this.stopped || this.placesDue.has(teamId)) return;
    const refresh = async () => {
      try {
        const cards = await this.options.queue.queuedCards(teamId, this.options.placesShown ?? 10);
        for (const card of cards) if (card.shown !== card.place) void this.sync(card.id);
      } catch (error) {
        this.options.logger.warn({ err: error, teamId }, 'the places in the queue could not be refreshed');
      }
    };
    const timer = setTimeout(() => {
      this.placesDue.delete(teamId);
      if (this.stopped) return;
      const running = refresh().finally(() => this.refreshing.delete(running));
      this.refreshing.add(running);
    }, PLACES_TICK_MS);
    timer.unref();
    this.placesDue.set(teamId, timer);
  }

  private async render(id: string): Promise<void> {
    const { queue } = this.options;
    let job = await queue.get(id);
    if (!job || job.state === 'refused') return;
    // The job left the queue since its card last showed it there: the cards behind it moved up.
    if (job.state !== 'queued' && (job.cardState ?? 'queued') === 'queued') this.refreshPlaces(job.teamId);
    let place: number | undefined;
    if (!job.cardTs || (job.state === 'succeeded' && !job.resultPostedAt)) {
      const claim = await queue.claimPost(id, this.me, this.options.leaseMs ?? 30_000);
      // Another replica is posting; it renders the latest state once its post is recorded.
      if (!claim) {
        if (job.cardTs) await this.update(job);
        return;
      }
      job = claim.job;
      if (!job.cardTs) {
        const shown = job.state;
        place = await this.postCard(job, claim.uncertain);
        job = (await queue.get(id))!;
        if (job.state !== shown) place = await this.update(job);
      } else {
        place = await this.update(job);
      }
      if (job.state === 'succeeded' && !job.resultPostedAt) {
        // The result is the link reply or the uploaded video, whichever an earlier claimant got to post.
        const [reply, name] = [tagged(RESULT_EVENT, job), resultFiles(job).at(-1)?.filename];
        const result = (m: Posted) => reply(m) || Boolean(m.files?.some((f) => f.name === name));
        const posted = claim.uncertain && (await this.find(result, job, [job.cardChannelId!], job.cardTs));
        if (!posted) await this.postResult(job);
        await queue.setResultPosted(id);
      }
    } else {
      place = await this.update(job);
    }
    await queue.setCardState(id, job.state, this.me, place);
  }

  /** Posts the job's card; the place in the queue it shows, if any. */
  private async postCard(job: Generation, uncertain: boolean): Promise<number | undefined> {
    const { client, queue } = this.options;
    const { message, place } = await this.rendered(job);
    const card = { ...message, metadata: metadata(CARD_EVENT, job), unfurl_links: false };
    const channels = [job.channelId, () => this.dm(job)];
    let found = uncertain ? await this.find(tagged(CARD_EVENT, job), job, channels) : undefined;
    if (!found) {
      try {
        const posted = await client.chat.postMessage({ channel: job.channelId, ...card });
        found = { channel: job.channelId, ts: posted.ts! };
      } catch (error) {
        if (!closed(error)) throw error;
        // The bot cannot post here (a private channel it is not in): the requester gets the card in a DM.
        const channel = await this.dm(job);
        found = { channel, ts: (await client.chat.postMessage({ channel, ...card })).ts! };
      }
    }
    await queue.setCard(job.id, found.channel, found.ts);
    job.cardChannelId = found.channel;
    job.cardTs = found.ts;
    return place;
  }

  /**
   * The video uploaded into the card's thread, or, when it is too large or Slack refuses it, the link reply
   * saying why. The claim is renewed while the upload runs, which may outlast one lease.
   */
  private async postResult(job: Generation): Promise<void> {
    const { client, queue, logger, videos } = this.options;
    const thread = { channel: job.cardChannelId!, thread_ts: job.cardTs! };
    const files = resultFiles(job);
    let note: string | undefined;
    if (videos && files.length > 0) {
      const leaseMs = this.options.leaseMs ?? 30_000;
      const renew = setInterval(
        () => void queue.claimPost(job.id, this.me, leaseMs).catch(() => undefined),
        leaseMs / 3,
      );
      try {
        for (const file of files) {
          await uploadVideo(client, { ...file, channelId: thread.channel, threadTs: thread.thread_ts }, videos);
        }
        return;
      } catch (error) {
        if (!(error instanceof NotUploaded)) throw error;
        logger.warn({ err: error, generationId: job.id }, 'result not uploaded to Slack; linking it instead');
        note = error.message;
      } finally {
        clearInterval(renew);
      }
    }
    const reply = { ...resultReply(job, note), metadata: metadata(RESULT_EVENT, job) };
    await client.chat.postMessage({ ...thread, ...reply, unfurl_links: true });
  }

  private async dm(job: Generation): Promise<string> {
    return (await this.options.client.conversations.open({ users: job.userId })).channel!.id!;
  }

  /**
   * The job's message of this kind, looked for when an earlier post's outcome is unknown: in each channel
   * in turn (one the bot cannot read is passed over), since the job was made; in the thread of `thread`.
   * A channel it may not read at all (a missing scope) counts as not found: a second card beats none.
   */
  private async find(
    match: (m: Posted) => boolean,
    job: Generation,
    channels: (string | (() => Promise<string>))[],
    thread?: string,
  ): Promise<Found | undefined> {
    const { client, logger } = this.options;
    for (const where of channels) {
      const channel = typeof where === 'string' ? where : await where();
      let cursor: string | undefined;
      try {
        for (let page = 0; page < LOOKUP_PAGES; page++) {
          const common = { channel, include_all_metadata: true, limit: 200, ...(cursor && { cursor }) };
          const found: Page = thread
            ? await client.conversations.replies({ ...common, ts: thread })
            : await client.conversations.history({ ...common, oldest: String(job.createdAt.getTime() / 1000 - 1) });
          const mine = found.messages?.find(match);
          if (mine?.ts) return { channel, ts: mine.ts };
          cursor = found.response_metadata?.next_cursor;
          if (!cursor) break;
        }
      } catch (error) {
        if (!(error instanceof WebAPIPlatformError)) throw error;
        if (!closed(error)) {
          logger.warn({ err: error, generationId: job.id, channel }, 'cannot look for an earlier post; posting again');
        }
      }
    }
    return undefined;
  }

  /** Renders the job into its card; the place in the queue it shows, if any. */
  private async update(job: Generation): Promise<number | undefined> {
    try {
      const { message, place } = await this.rendered(job);
      await this.options.client.chat.update({ channel: job.cardChannelId!, ts: job.cardTs!, ...message });
      return place;
    } catch (error) {
      if (!(error instanceof WebAPIPlatformError)) throw error;
      // Final (the card was deleted, the channel archived): nothing left to keep up to date.
      this.options.logger.warn({ err: error, generationId: job.id }, 'job card could not be updated');
      return undefined;
    }
  }

  /** The job's card as of now: a queued job's place in the queue is read at render time. */
  async card(job: Generation): Promise<Message> {
    return (await this.rendered(job)).message;
  }

  private async rendered(job: Generation): Promise<{ message: Message; place?: number }> {
    const place = job.state === 'queued' ? await this.options.queue.placeInQueue(job.id) : undefined;
    return { message: jobCard(job, { ...this.cardOptions(job), ...(place && { place }) }), place };
  }

  /** A render gives each follow-up button a fresh claim: a click that queued a job re-renders the card. */
  private cardOptions(job: Generation) {
    const { catalog, pending } = this.options;
    const offered = catalog && pending && job.state === 'succeeded' ? followUps(job, catalog) : [];
    return {
      now: (this.options.now ?? systemClock)(),
      creditPriceUsd: this.options.creditPriceUsd,
      followUps: offered.map((f) => {
        const value = pending!.encode({ text: '', followUp: { of: job.id, kind: f.kind } });
        return { ...f, value };
      }),
    };
  }
}

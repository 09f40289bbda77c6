import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import type { Generation, GenerationQueue } from '../generations';
import type { Logger } from '../log';
import { jobCard, resultReply } from './blocks/job-card';
import { deliver } from './delivery';

export interface JobCardsOptions {
  client: WebClient;
  queue: GenerationQueue;
  logger: Logger;
  creditPriceUsd: number;
  now?: () => Date;
  /** Resolves when the commands awaiting their ack are answered: a card never delays an ack. */
  acksFirst?: () => Promise<void>;
}

/**
 * Renders in flight at once. Slack takes about one message per second per channel, and a burst of new
 * jobs should not crowd out the acks of the commands still arriving: the cards follow at this pace.
 */
const RENDERS_AT_ONCE = 4;

/** Errors that mean the bot cannot post in the channel: the card goes to the requester's DM instead. */
const CHANNEL_CLOSED = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);

/**
 * Keeps each job card equal to its generation row. A sync reads the row and renders it, so a sync that
 * is retried after a 429, or runs late, still shows the latest state; syncs of one job run one at a
 * time, and a burst of them collapses into one.
 */
export class JobCards {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, { post: boolean }>();
  /** Thread replies already posted by this process (a recovered job may report success twice). */
  private readonly replied = new Set<string>();
  private stopped = false;
  private rendering = 0;
  private readonly turns: (() => void)[] = [];

  constructor(private readonly options: JobCardsOptions) {}

  /**
   * Renders the job into its card. Only the process that took the command posts a new card (`post`);
   * worker events only update an existing one, so two replicas never post the same card twice.
   */
  sync(id: string, options: { post?: boolean } = {}): Promise<void> {
    const waiting = this.waiting.get(id);
    if (waiting) {
      waiting.post ||= Boolean(options.post);
      return this.chains.get(id)!;
    }
    const entry = { post: Boolean(options.post) };
    this.waiting.set(id, entry);
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(() => {
        this.waiting.delete(id);
        return deliver(`job card ${id}`, () => this.inTurn(() => this.render(id, entry.post)), { logger: this.options.logger, stopped: () => this.stopped });
      })
      .catch((error: unknown) => this.options.logger.error({ err: error, generationId: id }, 'job card could not be rendered'));
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.chains.values()]);
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

  private async render(id: string, post: boolean): Promise<void> {
    const { queue, client } = this.options;
    let job = await queue.get(id);
    if (!job) return;
    if (!job.cardTs || !job.cardChannelId) {
      if (!post) return;
      const shown = job.state;
      await this.postCard(job);
      job = (await queue.get(id))!;
      if (job.state !== shown) await this.update(job);
    } else {
      await this.update(job);
    }
    if (job.state === 'succeeded' && job.cardTs && !this.replied.has(id)) {
      await client.chat.postMessage({ channel: job.cardChannelId!, thread_ts: job.cardTs, ...resultReply(job), unfurl_links: true });
      this.replied.add(id);
    }
  }

  private async postCard(job: Generation): Promise<void> {
    const { client, queue } = this.options;
    const card = jobCard(job, this.cardOptions());
    let channel = job.channelId;
    let ts: string | undefined;
    try {
      ts = (await client.chat.postMessage({ channel, ...card, unfurl_links: false })).ts;
    } catch (error) {
      if (!(error instanceof WebAPIPlatformError) || !CHANNEL_CLOSED.has(error.data.error)) throw error;
      // The bot cannot post here (a private channel it is not in): the requester gets the card in a DM.
      const opened = await client.conversations.open({ users: job.userId });
      channel = opened.channel!.id!;
      ts = (await client.chat.postMessage({ channel, ...card, unfurl_links: false })).ts;
    }
    await queue.setCard(job.id, channel, ts!);
    job.cardChannelId = channel;
    job.cardTs = ts;
  }

  private async update(job: Generation): Promise<void> {
    await this.options.client.chat.update({ channel: job.cardChannelId!, ts: job.cardTs!, ...jobCard(job, this.cardOptions()) });
  }

  private cardOptions() {
    return { now: this.options.now?.() ?? new Date(), creditPriceUsd: this.options.creditPriceUsd };
  }
}

import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import type { Ledger } from '../budget';
import type { WorkerEvent } from '../generations';
import type { Logger } from '../log';
import { Ticker } from '../ticker';
import type { Admins } from './admins';
import type { JobCards } from './job-cards';
import type { Message } from './blocks/kit';
import {
  alertByDm,
  budgetAlerts,
  klingAuthProblem,
  queuePaused,
  queueResumed,
  spikeAlert,
  stuckJob,
} from './blocks/alerts';
import { channelClosed, deliver } from './delivery';

/** Where an alert for the admins landed; `unreachableChannel` is the alerts channel that could not take it. */
export type AdminAlertDelivery =
  | { via: 'channel'; channel: string }
  | { via: 'dm'; admins: string[]; unreachableChannel?: string }
  | { via: 'none'; unreachableChannel?: string };

/** What the outbox records as where an alert was delivered: the channel, or the admins it was sent to by DM. */
function landedAt(delivery: AdminAlertDelivery): string[] | undefined {
  if (delivery.via === 'channel') return [delivery.channel];
  return delivery.via === 'dm' ? delivery.admins : undefined;
}

/** Slack's error code for a failed call, or what kept the answer from coming. */
function slackError(error: unknown): string {
  if (error instanceof WebAPIPlatformError) return error.data.error;
  if (error instanceof WebAPIHTTPError) return `HTTP ${error.statusCode}`;
  if (error instanceof WebAPIRateLimitedError) return 'ratelimited';
  return 'no answer from Slack';
}

export interface NotifierOptions {
  client: WebClient;
  ledger: Ledger;
  cards: JobCards;
  admins: Admins;
  logger: Logger;
  creditPriceUsd: number;
  /** ALERT_CHANNEL_ID: used until a workspace sets its own alerts channel. */
  defaultAlertsChannel?: string;
  /** How often undelivered budget alerts are tried again. */
  retryMs?: number;
  /** How long a claim to post a budget or spike alert lasts: a replica that dies mid-post holds it no longer. */
  leaseMs?: number;
}

/**
 * Turns worker and ledger events into Slack: job card updates, budget alerts, admin alerts.
 * Budget and spike alerts come from the ledger's outbox: each is claimed in the database, posted in the alerts
 * channel (or, when Slack refuses that channel, sent to the admins by DM), then marked delivered with where it
 * landed, so one alert is one message whatever the number of replicas (the budget alerts one request raised
 * share one message); an alert whose post failed (or whose replica died) is tried again on a timer once its
 * claim has run out.
 */
export class Notifier {
  /** Drains the outbox: on a timer, and when a request or the alert watch says there are new alerts. */
  private readonly drains: Ticker<string>;

  constructor(private readonly options: NotifierOptions) {
    this.drains = new Ticker((teamId) => this.drain(teamId), {
      everyMs: options.retryMs ?? 60_000,
      atStart: true,
      logger: options.logger,
      failure: 'budget alerts could not be delivered',
    });
  }

  start(): void {
    this.drains.start();
  }

  stop(): Promise<void> {
    return this.drains.stop();
  }

  handle(event: WorkerEvent): void {
    switch (event.kind) {
      case 'job':
        void this.options.cards.sync(event.generation.id);
        return;
      case 'ledger':
        void this.deliverAlerts(event.event.budget.teamId);
        return;
      case 'queue-paused':
        void this.alertAdmins(event.teamId, queuePaused(event.reason, event.code, event.teamId));
        return;
      case 'queue-resumed':
        void this.alertAdmins(event.teamId, queueResumed());
        return;
      case 'stuck':
        void this.alertAdmins(event.generation.teamId, stuckJob(event.generation, event.minutes));
        return;
      case 'kling-auth':
        void this.alertAdmins(event.teamId, klingAuthProblem(event.message));
    }
  }

  /** Posts every undelivered budget alert (of one team, or all). Resolves when this drain is done. */
  deliverAlerts(teamId?: string): Promise<void> {
    return this.drains.tick(teamId);
  }

  private async drain(teamId?: string): Promise<void> {
    const { ledger } = this.options;
    const leaseMs = this.options.leaseMs ?? 120_000;
    for (const group of await ledger.undeliveredAlertGroups(teamId)) {
      const team = group[0]!.budget.teamId;
      const channel = await this.alertsChannel(team);
      if (!channel) {
        this.options.logger.warn(
          { teamId: team },
          'budget alert kept: no alerts channel (set ALERT_CHANNEL_ID or /kling budget alerts #channel)',
        );
        continue;
      }
      const claimed = await ledger.claimAlerts(group, leaseMs);
      if (!claimed.length) continue;
      // Reached nobody, or failed: the claim runs out and a later drain tries again.
      const to = await this.tryReach(team, channel, budgetAlerts(claimed, this.options));
      if (to) for (const event of claimed) await ledger.markAlertDelivered(event, to);
    }
    for (const spike of await ledger.undeliveredSpikes(teamId)) {
      const channel = await this.alertsChannel(spike.teamId);
      if (!channel) continue; // kept, like a budget alert, until there is an alerts channel
      if (!(await ledger.claimSpikeAlert(spike, leaseMs))) continue;
      const to = await this.tryReach(spike.teamId, channel, spikeAlert(spike, this.options));
      if (to) await ledger.markSpikeDelivered(spike, to);
    }
  }

  /** An outbox alert posted where it can be; a failure is logged and kept, so one alert never holds up the rest. */
  private async tryReach(teamId: string, channel: string, message: Message): Promise<string[] | undefined> {
    try {
      return landedAt(await this.reach(teamId, channel, message, true));
    } catch (error) {
      this.options.logger.warn({ err: error, teamId, channel }, 'alert kept for a later try: Slack did not take it');
      return undefined;
    }
  }

  private async alertsChannel(teamId: string): Promise<string | undefined> {
    const workspace = await this.options.ledger.ensureWorkspace(teamId);
    return workspace.alertsChannelId ?? this.options.defaultAlertsChannel;
  }

  /**
   * Queue pauses, Kling account problems, approval requests: the alerts channel, else (no channel, or posting
   * there failed for any reason: nothing retries these) the admins' DMs. Says where the alert landed.
   */
  async alertAdmins(teamId: string, message: Message): Promise<AdminAlertDelivery> {
    let channel: string | undefined;
    try {
      channel = await this.alertsChannel(teamId);
    } catch (error) {
      this.options.logger.warn({ err: error, teamId }, 'admin alert: the alerts channel is unknown; trying DMs');
    }
    return this.reach(teamId, channel, message, false);
  }

  /**
   * Posts an alert in the alerts channel or, when the channel cannot take it, sends it by DM to each configured
   * admin (ADMIN_USER_IDS; Slack's own admins are only known one by one, when they act), saying why it came by
   * DM. A channel Slack refuses (channel_not_found, not_in_channel, is_archived, …) always falls back. A passing
   * failure (a rate limit, a 5xx, no answer, after delivery's retries) is thrown when the alert is `kept` in the
   * outbox, to be tried in the channel again; otherwise it falls back too. One that reached nobody is logged as
   * an error.
   */
  private async reach(
    teamId: string,
    channel: string | undefined,
    message: Message,
    kept: boolean,
  ): Promise<AdminAlertDelivery> {
    const { logger } = this.options;
    let unreachable: { channel: string; error: string } | undefined;
    if (channel) {
      try {
        await this.post(channel, message);
        return { via: 'channel', channel };
      } catch (error) {
        const closed = channelClosed(error);
        if (!closed && kept) throw error;
        unreachable = { channel, error: closed ?? slackError(error) };
        logger.warn({ err: error, teamId, channel }, 'the alerts channel is unreachable; sending the alert by DM');
      }
    }
    const where = channel ? { unreachableChannel: channel } : {};
    const dm = alertByDm(message, unreachable);
    const reached: string[] = [];
    for (const admin of this.options.admins.ids) {
      try {
        const im = (await this.options.client.conversations.open({ users: admin })).channel!.id!;
        await this.post(im, dm);
        reached.push(admin);
      } catch (error) {
        logger.warn({ err: error, teamId, admin }, 'alert: a DM to an admin failed');
      }
    }
    if (reached.length) return { via: 'dm', admins: reached, ...where };
    const fix = 'alert reached nobody: fix the alerts channel (/kling budget alerts) or set ADMIN_USER_IDS';
    logger.error({ teamId, channel, text: message.text }, fix);
    return { via: 'none', ...where };
  }

  private post(channel: string, message: Message) {
    return deliver(`alert to ${channel}`, () => this.options.client.chat.postMessage({ channel, ...message }), {
      logger: this.options.logger,
      stopped: () => this.drains.stopped,
    });
  }
}

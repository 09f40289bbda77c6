import type { WebClient } from '@slack/web-api';
import type { Ledger } from '../budget';
import type { WorkerEvent } from '../generations';
import type { Logger } from '../log';
import { Ticker } from '../ticker';
import type { Admins } from './admins';
import type { JobCards } from './job-cards';
import type { Message } from './blocks/kit';
import { budgetAlerts, klingAuthProblem, queuePaused, queueResumed, spikeAlert, stuckJob } from './blocks/alerts';
import { deliver } from './delivery';

/** Where an admin alert landed; `unreachableChannel` is the alerts channel that could not take it. */
export type AdminAlertDelivery =
  | { via: 'channel'; channel: string }
  | { via: 'dm'; admins: string[]; unreachableChannel?: string }
  | { via: 'none'; unreachableChannel?: string };

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
 * Budget and spike alerts come from the ledger's outbox: each is claimed in the database, posted, then marked
 * delivered, so one alert is one message whatever the number of replicas (the budget alerts one request raised
 * share one message); an alert whose post failed
 * (or whose replica died) is tried again on a timer once its claim has run out.
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
    const leaseMs = this.options.leaseMs ?? 120_000;
    for (const group of await this.options.ledger.undeliveredAlertGroups(teamId)) {
      const team = group[0]!.budget.teamId;
      const channel = await this.alertsChannel(team);
      if (!channel) {
        this.options.logger.warn(
          { teamId: team },
          'budget alert kept: no alerts channel (set ALERT_CHANNEL_ID or /kling budget alerts #channel)',
        );
        continue;
      }
      const claimed = [];
      for (const event of group) if (await this.options.ledger.claimAlert(event, leaseMs)) claimed.push(event);
      if (!claimed.length) continue;
      await this.post(channel, budgetAlerts(claimed, this.options));
      for (const event of claimed) await this.options.ledger.markAlertDelivered(event);
    }
    for (const spike of await this.options.ledger.undeliveredSpikes(teamId)) {
      const channel = await this.alertsChannel(spike.teamId);
      if (!channel) continue; // kept, like a budget alert, until there is an alerts channel
      if (!(await this.options.ledger.claimSpikeAlert(spike, this.options.leaseMs ?? 120_000))) continue;
      await this.post(channel, spikeAlert(spike, this.options));
      await this.options.ledger.markSpikeDelivered(spike);
    }
  }

  private async alertsChannel(teamId: string): Promise<string | undefined> {
    const workspace = await this.options.ledger.ensureWorkspace(teamId);
    return workspace.alertsChannelId ?? this.options.defaultAlertsChannel;
  }

  /**
   * Queue pauses, Kling account problems, approval requests: the alerts channel, else (no channel, or posting
   * there failed: channel_not_found, not_in_channel, archived, …) a DM to each configured admin (ADMIN_USER_IDS;
   * Slack's own admins are only known one by one, when they act). Says where the alert landed; one that
   * reached nobody is logged as an error.
   */
  async alertAdmins(teamId: string, message: Message): Promise<AdminAlertDelivery> {
    const { logger } = this.options;
    let channel: string | undefined;
    try {
      channel = await this.alertsChannel(teamId);
      if (channel) {
        await this.post(channel, message);
        return { via: 'channel', channel };
      }
    } catch (error) {
      logger.warn({ err: error, teamId, channel }, 'admin alert: the alerts channel is unreachable; trying DMs');
    }
    const unreachable = channel ? { unreachableChannel: channel } : {};
    const reached: string[] = [];
    for (const admin of this.options.admins.ids) {
      try {
        const dm = (await this.options.client.conversations.open({ users: admin })).channel!.id!;
        await this.post(dm, message);
        reached.push(admin);
      } catch (error) {
        logger.warn({ err: error, teamId, admin }, 'admin alert: a DM to an admin failed');
      }
    }
    if (reached.length) return { via: 'dm', admins: reached, ...unreachable };
    const fix = 'admin alert reached nobody: fix the alerts channel (/kling budget alerts) or set ADMIN_USER_IDS';
    logger.error({ teamId, channel, text: message.text }, fix);
    return { via: 'none', ...unreachable };
  }

  private post(channel: string, message: Message) {
    return deliver(`alert to ${channel}`, () => this.options.client.chat.postMessage({ channel, ...message }), {
      logger: this.options.logger,
      stopped: () => this.drains.stopped,
    });
  }
}

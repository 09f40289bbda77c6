import type { WebClient } from '@slack/web-api';
import type { AccountAlert, KlingAccount } from '../account';
import type { Logger } from '../log';
import { Ticker } from '../ticker';
import { accountAlert } from './blocks/account';
import { deliver } from './delivery';

export interface AccountAlertsOptions {
  client: WebClient;
  account: KlingAccount;
  logger: Logger;
  /** ALERT_CHANNEL_ID: for workspaces without an alerts channel of their own. */
  defaultAlertsChannel?: string;
  /** How often the packs are looked at (default 60 s; Kling itself is read at most once a minute). */
  everyMs?: number;
  /** How long a claim to post an alert lasts: a replica that dies mid-post holds it no longer. */
  leaseMs?: number;
}

/**
 * Posts the Kling account's alerts: packs running out or expiring, and the daily reconciliation's findings.
 * The account is the operator's, shared by every workspace on the key, so each alert goes to every alerts
 * channel the bot knows (each workspace's, else ALERT_CHANNEL_ID), once per channel across replicas: the
 * account_alerts row is claimed before the post and marked delivered after it.
 */
export class AccountAlerts {
  private readonly ticker: Ticker;

  constructor(private readonly options: AccountAlertsOptions) {
    this.ticker = new Ticker(() => this.check(), {
      everyMs: options.everyMs ?? 60_000,
      atStart: true,
      logger: options.logger,
      failure: 'Kling account alerts could not be checked',
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  private async check(): Promise<void> {
    const { account } = this.options;
    await account.refresh();
    const alerts = account.alerts(await account.status());
    try {
      alerts.push(...(await account.reconcile()));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'Kling deductions could not be reconciled; tried again on a later tick');
    }
    if (!alerts.length) return;
    const channels = await account.alertChannels(this.options.defaultAlertsChannel);
    if (!channels.length)
      this.options.logger.warn('Kling account alert kept: no alerts channel (set ALERT_CHANNEL_ID)');
    for (const alert of alerts) {
      for (const channel of channels) {
        // A failed post keeps its claim until the lease runs out; a later tick posts it then.
        await this.post(alert, channel).catch((error: unknown) =>
          this.options.logger.error({ err: error, key: alert.key, channel }, 'Kling account alert could not be posted'),
        );
      }
    }
  }

  private async post(alert: AccountAlert, channel: string): Promise<void> {
    const { account } = this.options;
    if (!(await account.claimAlert(alert, channel, this.options.leaseMs ?? 120_000))) return;
    await deliver(
      `account alert to ${channel}`,
      () => this.options.client.chat.postMessage({ channel, ...accountAlert(alert) }),
      {
        logger: this.options.logger,
        stopped: () => this.ticker.stopped,
      },
    );
    await account.markAlertDelivered(alert, channel);
  }
}

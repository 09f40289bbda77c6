import type { Ledger } from '../budget';
import { LRUCache } from 'lru-cache';
import type { Millicredits } from '../money/credits';

/**
 * The per-workspace settings the Slack layer reads on every command: the price above which a person
 * confirms first. The first command of a workspace also creates it (with its default budget and
 * confirmation threshold) and gives it the configured alerts channel. Read through a short cache: an
 * admin's change shows at once on this replica (forget) and within the TTL on the others.
 */
interface Settings {
  confirmThresholdMc?: Millicredits;
}

export class Workspaces {
  /** The promise is cached, so a burst of first commands from a new workspace reads it once. */
  private readonly cache: LRUCache<string, Promise<Settings>>;

  constructor(
    private readonly ledger: Ledger,
    private readonly defaults: { alertsChannelId?: string },
    ttlMs = 30_000,
  ) {
    this.cache = new LRUCache({ max: 10_000, ttl: ttlMs });
  }

  settings(teamId: string): Promise<Settings> {
    const cached = this.cache.get(teamId);
    if (cached) return cached;
    const settings = this.read(teamId);
    this.cache.set(teamId, settings);
    // A failed read is not remembered (unless a newer one has taken its place).
    settings.catch(() => this.cache.get(teamId) === settings && this.cache.delete(teamId));
    return settings;
  }

  /** After a change made here: the next command reads it afresh. */
  forget(teamId: string): void {
    this.cache.delete(teamId);
  }

  private async read(teamId: string): Promise<Settings> {
    const workspace = await this.ledger.ensureWorkspace(teamId);
    if (!workspace.alertsChannelId && this.defaults.alertsChannelId) {
      const author = { by: 'default', why: 'ALERT_CHANNEL_ID' };
      await this.ledger.setAlertsChannel(teamId, this.defaults.alertsChannelId, author);
    }
    return { confirmThresholdMc: workspace.confirmThresholdMc ?? undefined };
  }
}

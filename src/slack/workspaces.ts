import { eq } from 'drizzle-orm';
import { schema, type Db } from '../db';
import type { Ledger } from '../budget';
import type { Millicredits } from '../money/credits';

/**
 * The per-workspace settings the Slack layer reads: the price above which a person confirms first
 * (workspaces.confirm_threshold_mc, else CONFIRM_THRESHOLD). The first command of a workspace also
 * creates it (with its default budget) and gives it the configured alerts channel.
 */
export class Workspaces {
  /** The promise is cached, so a burst of first commands from a new workspace reads it once. */
  private readonly cache = new Map<string, { settings: Promise<{ confirmThresholdMc?: Millicredits }>; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly defaults: { confirmThresholdMc?: Millicredits; alertsChannelId?: string },
    private readonly ttlMs = 30_000,
  ) {}

  settings(teamId: string): Promise<{ confirmThresholdMc?: Millicredits }> {
    const cached = this.cache.get(teamId);
    if (cached && cached.until > Date.now()) return cached.settings;
    const settings = this.read(teamId);
    this.cache.set(teamId, { settings, until: Date.now() + this.ttlMs });
    settings.catch(() => this.cache.delete(teamId));
    return settings;
  }

  private async read(teamId: string): Promise<{ confirmThresholdMc?: Millicredits }> {
    const workspace = await this.ledger.ensureWorkspace(teamId);
    if (!workspace.alertsChannelId && this.defaults.alertsChannelId) await this.ledger.setAlertsChannel(teamId, this.defaults.alertsChannelId);
    const [row] = await this.db
      .select({ confirmThresholdMc: schema.workspaces.confirmThresholdMc })
      .from(schema.workspaces)
      .where(eq(schema.workspaces.teamId, teamId));
    return { confirmThresholdMc: row?.confirmThresholdMc ?? this.defaults.confirmThresholdMc };
  }
}

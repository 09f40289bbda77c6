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
  private readonly cache = new Map<string, { confirmThresholdMc?: Millicredits; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly defaults: { confirmThresholdMc?: Millicredits; alertsChannelId?: string },
    private readonly ttlMs = 30_000,
  ) {}

  async settings(teamId: string): Promise<{ confirmThresholdMc?: Millicredits }> {
    const cached = this.cache.get(teamId);
    if (cached && cached.until > Date.now()) return cached;
    const workspace = await this.ledger.ensureWorkspace(teamId);
    if (!workspace.alertsChannelId && this.defaults.alertsChannelId) await this.ledger.setAlertsChannel(teamId, this.defaults.alertsChannelId);
    const [row] = await this.db
      .select({ confirmThresholdMc: schema.workspaces.confirmThresholdMc })
      .from(schema.workspaces)
      .where(eq(schema.workspaces.teamId, teamId));
    const confirmThresholdMc = row?.confirmThresholdMc ?? this.defaults.confirmThresholdMc;
    const settings = { confirmThresholdMc, until: Date.now() + this.ttlMs };
    this.cache.set(teamId, settings);
    return settings;
  }
}

import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log';

/**
 * Who may change budgets and run the digest: ADMIN_USER_IDS, or the workspace's admins and owners
 * (users.info, remembered for a minute so a burst of commands costs one call).
 */
export class Admins {
  private readonly cache = new Map<string, { admin: boolean; until: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly configured: string[],
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
  ) {}

  /** The ids to alert directly when there is no alerts channel or it cannot be reached. */
  get ids(): string[] {
    return this.configured;
  }

  async isAdmin(userId: string): Promise<boolean> {
    if (this.configured.includes(userId)) return true;
    const cached = this.cache.get(userId);
    if (cached && cached.until > Date.now()) return cached.admin;
    try {
      const { user } = await this.client.users.info({ user: userId });
      const admin = Boolean(user?.is_admin || user?.is_owner || user?.is_primary_owner);
      this.cache.set(userId, { admin, until: Date.now() + this.ttlMs });
      return admin;
    } catch (error) {
      // Without an answer from Slack nobody gains rights.
      this.logger.warn({ err: error, userId }, 'users.info failed; treating the user as not an admin');
      return false;
    }
  }
}

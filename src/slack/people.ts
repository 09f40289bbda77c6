import type { WebClient } from '@slack/web-api';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log';

/**
 * Display names for messages that list people without notifying them: a <@U…> mention pings, and the
 * daily digest names its top spenders every day. From users.info, remembered for a day; without an
 * answer the person is shown by id, never mentioned.
 */
export class People {
  /** A failed lookup is not remembered: the next message asks again. */
  private readonly cache: LRUCache<string, string>;

  constructor(
    private readonly client: WebClient,
    private readonly logger: Logger,
    ttlMs = 86_400_000,
  ) {
    this.cache = new LRUCache({ max: 10_000, ttl: ttlMs });
  }

  async names(userIds: string[]): Promise<Map<string, string>> {
    return new Map(await Promise.all([...new Set(userIds)].map(async (id) => [id, await this.name(id)] as const)));
  }

  private async name(userId: string): Promise<string> {
    const cached = this.cache.get(userId);
    if (cached !== undefined) return cached;
    try {
      const { user } = await this.client.users.info({ user: userId });
      const name = user?.profile?.display_name || user?.real_name || user?.name || userId;
      this.cache.set(userId, name);
      return name;
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'users.info failed; showing the user id');
      return userId;
    }
  }
}

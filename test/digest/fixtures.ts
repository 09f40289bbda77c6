import { randomUUID } from 'node:crypto';
import { rows, sql, type Db } from '../../src/db/index';
import type { Ledger } from '../../src/budget/index';
import { builtInCatalog } from '../../src/pricing/index';
import type { DigestContent, DigestPoster } from '../../src/digest/index';
import { digestMessage } from '../../src/slack/blocks/digest';
import type { Message } from '../../src/slack/blocks/kit';
import { mc, type Millicredits } from '../../src/money/credits';

/** A clock the ledger and the digest share; tests move it. */
export class Clock {
  constructor(public at: Date) {}
  now = () => this.at;
  set(iso: string): void {
    this.at = new Date(iso);
  }
  advance(ms: number): void {
    this.at = new Date(this.at.getTime() + ms);
  }
}

export interface JobSpec {
  userId: string;
  channelId?: string;
  body?: Record<string, unknown>;
  endpoint?: 'text2video' | 'image2video';
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'open';
  /** Kling's actual charge; defaults to the estimate. */
  actualMc?: number;
  /** Seconds from request to the end of the job. */
  tookSeconds?: number;
}

/**
 * One job the way the queue and the ledger leave it: a generations row, a hold reserved through the real Ledger at
 * the clock's time, then committed or released. The queue's own enqueue is not used so the test sets every outcome.
 */
export async function job(
  db: Db,
  ledger: Ledger,
  teamId: string,
  clock: Clock,
  spec: JobSpec,
): Promise<{ id: string; holdId: string; estimateMc: Millicredits }> {
  const endpoint = spec.endpoint ?? 'text2video';
  const quote = builtInCatalog.quote({ endpoint, body: { prompt: 'a fox running through snow', ...spec.body } });
  const id = randomUUID();
  const channelId = spec.channelId ?? 'C1';
  const created = clock.at;
  const ended = new Date(created.getTime() + (spec.tookSeconds ?? 90) * 1000);
  const reserved = await ledger.reserve({
    teamId,
    channelId,
    userId: spec.userId,
    amountMc: quote.priceMc,
    generationId: id,
  });
  if (!reserved.ok) throw new Error(`fixture reservation refused: ${JSON.stringify(reserved.refusal.budget)}`);
  const holdId = reserved.holds[0]!.id;
  const state = spec.outcome === 'open' ? 'processing' : spec.outcome;
  const actual = spec.outcome === 'succeeded' ? (spec.actualMc ?? quote.priceMc) : null;
  await rows(
    db,
    sql`
    insert into generations (id, team_id, channel_id, user_id, endpoint, request, request_key, estimate_mc, hold_id, state, actual_mc, created_at, ended_at)
    values (${id}, ${teamId}, ${channelId}, ${spec.userId}, ${endpoint}, ${JSON.stringify(quote.request.body)}::jsonb,
            ${JSON.stringify([endpoint, quote.request.body])}, ${quote.priceMc}, ${holdId}, ${state}, ${actual},
            ${created.toISOString()}::timestamptz, ${spec.outcome === 'open' ? null : ended.toISOString()}::timestamptz)`,
  );
  if (spec.outcome === 'succeeded') await ledger.commit(holdId, mc(actual!));
  if (spec.outcome === 'failed' || spec.outcome === 'cancelled') await ledger.release(holdId, spec.outcome);
  return { id, holdId, estimateMc: quote.priceMc };
}

export interface Post {
  channelId: string;
  content: DigestContent;
  /** The content as the Slack poster renders it. */
  message: Message;
  chart?: { png: Buffer; filename: string; title: string };
}

/**
 * A DigestPoster that records the posts to one channel, and can fail the next of them or refuse chart uploads the
 * way Slack does. A tick serves every workspace in the database; posts to other tests' channels are ignored.
 */
export class RecordingPoster implements DigestPoster {
  posts: Post[] = [];
  failNext = 0;
  refuseUploads = false;

  constructor(private readonly channel: string) {}

  async post(channelId: string, content: DigestContent, chart?: Post['chart']): Promise<void> {
    if (channelId !== this.channel) return;
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('An API error occurred: internal_error'), {
        code: 'slack_webapi_platform_error',
        data: { ok: false, error: 'internal_error' },
      });
    }
    if (chart && this.refuseUploads) {
      throw Object.assign(new Error('An API error occurred: missing_scope'), {
        code: 'slack_webapi_platform_error',
        data: { ok: false, error: 'missing_scope' },
      });
    }
    // Every replica in a race awaits here, so a double post would show.
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.posts.push({ channelId, content, message: digestMessage(content), chart });
  }
}

/** All mrkdwn and plain text of a message, for assertions on what a person reads. */
export function textOf(message: { blocks: unknown[] }): string {
  return JSON.stringify(message.blocks);
}

import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { schema, type Db } from '../db';
import type { RequestScope } from '../budget';
import type { FollowUpKind } from '../generations';
import type { Millicredits } from '../money/credits';
import { systemClock, type Clock } from '../clock';

export type ApprovalState = 'pending' | 'approved' | 'denied';

export interface ApprovalRequest extends RequestScope {
  id: string;
  /** The `/kling generate …` or `/kling image …` text; an approval runs it again. */
  commandText: string;
  /** A job card's follow-up instead: the job it follows, and how. */
  followUp?: { of: string; kind: FollowUpKind };
  description: string;
  amountMc: Millicredits;
  state: ApprovalState;
  requestedAt: Date;
  decidedBy?: string;
  decidedAt?: Date;
}

type Row = typeof schema.approvals.$inferSelect;

function toRequest(row: Row): ApprovalRequest {
  const { decidedBy, decidedAt, followUp, claimKey: _, ...rest } = row;
  return {
    ...rest,
    ...(followUp ? { followUp } : {}),
    ...(decidedBy ? { decidedBy } : {}),
    ...(decidedAt ? { decidedAt } : {}),
  };
}

/** The approvals table: requests sent to the admins and the one decision each gets. */
export class ApprovalRequests {
  constructor(
    private readonly db: Db,
    private readonly now: Clock = systemClock,
  ) {}

  /** Undefined when a request with the same claim key (a second click on one button) exists already. */
  async create(
    input: RequestScope & {
      commandText: string;
      followUp?: ApprovalRequest['followUp'];
      description: string;
      amountMc: Millicredits;
      claimKey?: string;
    },
  ): Promise<ApprovalRequest | undefined> {
    const [row] = await this.db
      .insert(schema.approvals)
      .values({ id: `apr_${randomUUID()}`, ...input })
      .onConflictDoNothing()
      .returning();
    return row && toRequest(row);
  }

  async byClaim(teamId: string, claimKey: string): Promise<ApprovalRequest | undefined> {
    const [row] = await this.db
      .select()
      .from(schema.approvals)
      .where(and(eq(schema.approvals.teamId, teamId), eq(schema.approvals.claimKey, claimKey)));
    return row && toRequest(row);
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const [row] = await this.db.select().from(schema.approvals).where(eq(schema.approvals.id, id));
    return row && toRequest(row);
  }

  /**
   * Records the decision if nobody has decided yet; undefined when someone already has (or there is no
   * such request). Pass `tx` to make the claim part of the work the decision does.
   */
  async decide(
    id: string,
    state: Exclude<ApprovalState, 'pending'>,
    by: string,
    tx: Db = this.db,
  ): Promise<ApprovalRequest | undefined> {
    const [row] = await tx
      .update(schema.approvals)
      .set({ state, decidedBy: by, decidedAt: this.now() })
      .where(and(eq(schema.approvals.id, id), eq(schema.approvals.state, 'pending')))
      .returning();
    return row && toRequest(row);
  }
}

import { and, eq, lt, sql } from 'drizzle-orm';
import { schema, type Db } from '../db';
import type { RequestScope } from '../budget';

/** A form left open longer than this is forgotten; submitting it asks for a new one. */
const FORGOTTEN_AFTER = sql`interval '1 day'`;

/** The batch_forms table: which channel each open /kling batch modal belongs to, on every replica. */
export class BatchForms {
  constructor(private readonly db: Db) {}

  /** Recorded before the modal opens, so its submission always finds it. */
  async opened(formId: string, scope: RequestScope, tag?: string): Promise<void> {
    await this.db.delete(schema.batchForms).where(lt(schema.batchForms.openedAt, sql`now() - ${FORGOTTEN_AFTER}`));
    await this.db
      .insert(schema.batchForms)
      .values({ formId, ...scope, tag })
      .onConflictDoNothing();
  }

  /** The channel and tag of this person's open form; undefined for a form the bot did not open for them (or forgot). */
  async find(formId: string, teamId: string, userId: string): Promise<{ channelId: string; tag?: string } | undefined> {
    const [row] = await this.db
      .select({ channelId: schema.batchForms.channelId, tag: schema.batchForms.tag })
      .from(schema.batchForms)
      .where(
        and(
          eq(schema.batchForms.formId, formId),
          eq(schema.batchForms.teamId, teamId),
          eq(schema.batchForms.userId, userId),
        ),
      );
    return row && { channelId: row.channelId, tag: row.tag ?? undefined };
  }

  /**
   * The person changed the form at `actionTs`: its channel and tag, and whether this is the newest change seen so
   * far (only that one's total is shown). Undefined for a form the bot did not open for them (or forgot).
   */
  async changed(
    formId: string,
    teamId: string,
    userId: string,
    actionTs: string,
  ): Promise<{ channelId: string; tag?: string; newest: boolean } | undefined> {
    const f = schema.batchForms;
    const [row] = await this.db
      .update(f)
      .set({ changedTs: sql`greatest(${f.changedTs}, ${actionTs}::numeric)` })
      .where(and(eq(f.formId, formId), eq(f.teamId, teamId), eq(f.userId, userId)))
      .returning({ channelId: f.channelId, tag: f.tag, newest: sql<boolean>`${f.changedTs} = ${actionTs}::numeric` });
    return row && { channelId: row.channelId, tag: row.tag ?? undefined, newest: row.newest };
  }

  /** Whether no change newer than `actionTs` has come in meanwhile. */
  async stillNewest(formId: string, actionTs: string): Promise<boolean> {
    const f = schema.batchForms;
    const [row] = await this.db
      .select({ newest: sql<boolean>`coalesce(${f.changedTs} <= ${actionTs}::numeric, false)` })
      .from(f)
      .where(eq(f.formId, formId));
    return row?.newest ?? false;
  }

  /** The batch is queued: the modal closes and its row goes. */
  async submitted(formId: string): Promise<void> {
    await this.db.delete(schema.batchForms).where(eq(schema.batchForms.formId, formId));
  }
}

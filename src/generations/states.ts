/**
 * The generation state machine (ARCHITECTURE.md, generations/):
 *
 *   queued → submitting → submitted → processing → succeeded | failed
 *   queued → cancelled (only before submission)        refused (never held credits)
 *
 * `submitting` is committed before the Kling create call, so after a crash it means "a create may have
 * been sent": it is resolved by looking the task up by its external_task_id, never by creating blindly.
 */
export const GENERATION_STATES = [
  'queued',
  'submitting',
  'submitted',
  'processing',
  'succeeded',
  'failed',
  'cancelled',
  'refused',
] as const;
export type GenerationState = (typeof GENERATION_STATES)[number];

/** States that hold a Kling concurrency slot (or may: a submitting job's create may have landed). */
export const IN_FLIGHT: readonly GenerationState[] = ['submitting', 'submitted', 'processing'];
export const ENDED: readonly GenerationState[] = ['succeeded', 'failed', 'cancelled', 'refused'];

const NEXT: Record<GenerationState, readonly GenerationState[]> = {
  queued: ['submitting', 'cancelled'],
  // back to queued when Kling refused the create outright (rate limit, paused account)
  submitting: ['submitted', 'processing', 'succeeded', 'failed', 'queued'],
  submitted: ['processing', 'succeeded', 'failed'],
  processing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
  refused: [],
};

export function canMove(from: GenerationState, to: GenerationState): boolean {
  return NEXT[from].includes(to);
}

/** The states a job may be in for a move to `to`: the guard of every UPDATE in the store. */
export function statesBefore(to: GenerationState): GenerationState[] {
  return GENERATION_STATES.filter((from) => canMove(from, to));
}

import type { LedgerEvent, Refusal, RequestScope } from '../budget';
import type { Millicredits } from '../money/credits';
import type { KlingEndpoint, Quote } from '../pricing';
import type { GenerationState } from './states';

export type { GenerationState };

export interface GenerationResult {
  videos: { url: string; duration?: string; id?: string }[];
  images: { url: string; index?: number }[];
}

export interface Generation {
  /** Also the Kling external_task_id. */
  id: string;
  teamId: string;
  channelId: string;
  userId: string;
  endpoint: KlingEndpoint;
  /** The Kling request body as priced. */
  request: Record<string, unknown>;
  description?: string;
  estimateMc: Millicredits;
  actualMc?: Millicredits;
  holdId?: string;
  state: GenerationState;
  klingTaskId?: string;
  attempts: number;
  cardChannelId?: string;
  cardTs?: string;
  batchId?: string;
  result?: GenerationResult;
  /** Kling's code and reason for a failure (or for the last retry while it is still queued). */
  errorCode?: number;
  errorMessage?: string;
  notBefore?: Date;
  createdAt: Date;
  submittedAt?: Date;
  endedAt?: Date;
}

export interface EnqueueRequest extends RequestScope {
  quote: Quote;
  /** Off-peak: not submitted before then. */
  notBefore?: Date;
}

export type QueueRefusal = Refusal | { kind: 'user-queue-full'; limit: number };

export type EnqueueResult =
  | { ok: true; generations: Generation[]; events: LedgerEvent[] }
  | { ok: false; refusal: QueueRefusal; events: LedgerEvent[] };

/** enqueueUnlessDuplicate's answer when the same request already succeeded: nothing was held. */
export interface DuplicateFound {
  ok: false;
  duplicate: Generation;
  events: [];
}

/** A workspace queue Kling's refusal of the account (1100/1101/1102) stopped, until an admin resumes it. */
export interface QueuePause {
  since: Date;
  reason: string;
}

export type WorkerEvent =
  | { kind: 'job'; generation: Generation } // every state change
  | { kind: 'ledger'; event: LedgerEvent } // threshold crossings from commits
  | { kind: 'queue-paused'; teamId: string; reason: string; code: number }
  | { kind: 'queue-resumed'; teamId: string }
  | { kind: 'stuck'; generation: Generation; minutes: number }
  | { kind: 'kling-auth'; teamId: string; message: string };

/** A request the queue cannot act on: unknown id, or a job that is past the point where it can be cancelled. */
export class GenerationError extends Error {
  override name = 'GenerationError';
  constructor(
    readonly reason: 'not_found' | 'not_cancellable',
    message: string,
  ) {
    super(message);
  }
}

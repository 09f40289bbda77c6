import type { LedgerEvent, Refusal, RequestScope } from '../budget';
import type { Db } from '../db';
import type { Millicredits } from '../money/credits';
import type { KlingEndpoint, PricedRequest, Quote } from '../pricing';
import type { GenerationState } from './states';

export type { GenerationState };

export interface GenerationResult {
  videos: { url: string; duration?: string; id?: string }[];
  images: { url: string; index?: number }[];
}

export interface Generation {
  /** Also the Kling external_task_id. */
  id: string;
  /** Short, unique in the workspace: shown on cards and typed in commands ("2FC2", shown as #2FC2). */
  shortId: string;
  teamId: string;
  channelId: string;
  userId: string;
  /** The project tag it was asked with. */
  tag?: string;
  endpoint: KlingEndpoint;
  /** The Kling request body as priced. */
  request: Record<string, unknown>;
  /** video-extend only: the model and mode inherited from the source video. */
  source?: PricedRequest['source'];
  description?: string;
  estimateMc: Millicredits;
  actualMc?: Millicredits;
  holdId?: string;
  state: GenerationState;
  klingTaskId?: string;
  attempts: number;
  cardChannelId?: string;
  cardTs?: string;
  /** The state the card last showed. */
  cardState?: GenerationState;
  /** When the result reply went into the card's thread. */
  resultPostedAt?: Date;
  batchId?: string;
  /** The finished job this one follows up, and how (a card's Re-roll, Extend or Upgrade). */
  parentId?: string;
  followUp?: FollowUpKind;
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
  /** The project tag (--tag): charged to the tag's budget too, and reported by it. */
  tag?: string;
  /** Off-peak: not submitted before then. */
  notBefore?: Date;
  /** A card's follow-up: the job it follows and how. */
  parent?: { id: string; followUp: FollowUpKind };
}

/** What a finished job's card offers: the same request again, 5 s more of it, or in the next mode up. */
export type FollowUpKind = 'reroll' | 'extend' | 'upgrade';

export type QueueRefusal = Refusal | { kind: 'user-queue-full'; limit: number };

export type EnqueueResult =
  | { ok: true; generations: Generation[]; events: LedgerEvent[] }
  | { ok: false; refusal: QueueRefusal; events: LedgerEvent[] };

/**
 * Makes an enqueue call single-use, across replicas: the key is checked and recorded in the enqueue's own
 * transaction, after the requester is locked, so a second call with it queues nothing.
 */
export interface Claim {
  /** Unique per workspace: a command's trigger_id, a button's nonce, an approval's id. */
  key: string;
  /**
   * Work that must happen once with the jobs (an approval's decision), run in the same transaction after the
   * people are locked and before anything is held. False: it was done already, and the call queues nothing.
   */
  first?: (tx: Db) => Promise<boolean>;
}

/** The answer to a call whose claim was already used: what the first call queued (nothing if `first` said no). */
export interface AlreadyClaimed {
  ok: false;
  claimed: Generation[];
  events: [];
}

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

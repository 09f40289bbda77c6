/** Generations: the queue of held requests and the worker that takes them to Kling and settles them (ARCHITECTURE.md). */
export { GenerationQueue } from './queue';
export { Worker, type WorkerOptions } from './worker';
export { ENDED, type GenerationState } from './states';
export { FOLLOW_UP_KINDS, followUpQuote, followUps, type FollowUp } from './follow-ups';
export {
  GenerationError,
  type Generation,
  type EnqueueRequest,
  type EnqueueResult,
  type Claim,
  type FollowUpKind,
  type QueueRefusal,
  type QueuePause,
  type WorkerEvent,
} from './types';

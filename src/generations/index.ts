/** Generations: the queue of held requests and the worker that takes them to Kling and settles them (design §4). */
export { GenerationQueue, type GenerationQueueOptions } from './queue';
export { Worker, type WorkerOptions } from './worker';
export { GENERATION_STATES, IN_FLIGHT, ENDED, canMove, type GenerationState } from './states';
export { requestKey } from './request-key';
export {
  GenerationError, type Generation, type GenerationResult, type EnqueueRequest, type EnqueueResult, type DuplicateFound,
  type AlreadyClaimed, type Claim, type QueueRefusal, type QueuePause, type WorkerEvent,
} from './types';

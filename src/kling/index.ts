/** The Kling API client: the bot's only way to spend money. */
export { KlingClient, retryDelay, type KlingClientOptions } from './client';
export { signKlingToken } from './auth';
export {
  KLING_CODES,
  KlingError,
  KlingApiError,
  KlingTransportError,
  KlingTimeoutError,
  KlingCallbackError,
  type KlingAction,
} from './errors';
export { parseCallback, signWebhook } from './callback';
export type { KlingTask, KlingTaskStatus } from './schema';

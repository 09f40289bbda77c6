/** The Kling API client: the bot's only way to spend money. */
export { KlingClient, ENDPOINT_PATHS, retryDelay, type KlingClientOptions, type ResourcePack, type PackDeduction } from './client';
export { KlingCredentials, signKlingToken, TOKEN_TTL_SEC, TOKEN_REFRESH_MARGIN_SEC } from './auth';
export {
  KLING_CODES, actionFor, KlingError, KlingApiError, KlingTransportError, KlingTimeoutError, KlingCallbackError,
  type KlingAction,
} from './errors';
export { parseCallback, signWebhook, verifyWebhook, WEBHOOK_TOLERANCE_SEC } from './callback';
export { toKlingTask, type KlingTask, type KlingTaskStatus, type KlingTaskData } from './schema';
export type { KlingEndpoint } from '../pricing';

/**
 * Kling's service codes and what the bot does about each. The table is the single place
 * that decides retry / pause / fail / reauth; the client, the worker and the simulator all read it.
 */
export type KlingAction = 'retry' | 'pause' | 'fail' | 'reauth';

interface CodeInfo {
  httpStatus: number;
  action: KlingAction;
  meaning: string;
}

export const KLING_CODES: Readonly<Record<number, CodeInfo>> = {
  1000: { httpStatus: 401, action: 'reauth', meaning: 'Authentication failed' },
  1001: { httpStatus: 401, action: 'reauth', meaning: 'Authorization is empty' },
  1002: { httpStatus: 401, action: 'reauth', meaning: 'Authorization is invalid' },
  1003: { httpStatus: 401, action: 'reauth', meaning: 'Authorization is not yet valid' },
  1004: { httpStatus: 401, action: 'reauth', meaning: 'Authorization has expired' },
  1100: { httpStatus: 429, action: 'pause', meaning: 'Abnormal account status' },
  1101: { httpStatus: 429, action: 'pause', meaning: 'Account in arrears (postpaid scenario)' },
  1102: { httpStatus: 429, action: 'pause', meaning: 'Resource pack exhausted or expired (prepaid scenario)' },
  1103: { httpStatus: 403, action: 'fail', meaning: 'Unauthorized access to requested resource, such as API/model' },
  1200: { httpStatus: 400, action: 'fail', meaning: 'Invalid request parameters' },
  1201: { httpStatus: 400, action: 'fail', meaning: 'Invalid parameters, such as an incorrect key or invalid value' },
  1202: { httpStatus: 404, action: 'fail', meaning: 'The requested method is invalid' },
  1203: { httpStatus: 404, action: 'fail', meaning: 'The requested resource does not exist, such as the model' },
  1300: { httpStatus: 400, action: 'fail', meaning: 'Request blocked by platform policy' },
  1301: { httpStatus: 400, action: 'fail', meaning: "Trigger the platform's content security policy" },
  1302: { httpStatus: 429, action: 'retry', meaning: 'Too many requests; rate limit exceeded' },
  1303: { httpStatus: 429, action: 'retry', meaning: 'Concurrency or QPS exceeds the prepaid resource package limit' },
  1304: { httpStatus: 429, action: 'fail', meaning: "Trigger the platform's IP whitelist policy" },
  5000: { httpStatus: 500, action: 'retry', meaning: 'Server internal error' },
  5001: { httpStatus: 503, action: 'retry', meaning: 'Server temporarily unavailable, usually due to maintenance' },
  5002: { httpStatus: 504, action: 'retry', meaning: 'Server internal timeout, usually due to a backlog' },
};

/** Unknown codes: server-side families (5xxx) are worth another try, anything else is not. */
function actionFor(code: number): KlingAction {
  return KLING_CODES[code]?.action ?? (code >= 5000 ? 'retry' : 'fail');
}

/** Every failure the client raises says what to do about it. */
export abstract class KlingError extends Error {
  abstract readonly action: KlingAction;
}

/** Kling answered with a non-zero service code. `klingMessage` is Kling's own text, for people. */
export class KlingApiError extends KlingError {
  override name = 'KlingApiError';
  readonly action: KlingAction;
  constructor(
    readonly code: number,
    readonly httpStatus: number,
    readonly klingMessage: string,
    readonly requestId?: string,
  ) {
    super(
      `Kling error ${code}: ${klingMessage || KLING_CODES[code]?.meaning || 'unknown error'}${requestId ? ` (request ${requestId})` : ''}`,
    );
    this.action = actionFor(code);
  }
}

/**
 * No usable answer: the connection dropped, the body was not Kling's envelope, or something else (a gateway,
 * a wrong KLING_API_BASE_URL) answered. Worth a retry, except a plain client error (404, 400…) that asking
 * again cannot change.
 */
export class KlingTransportError extends KlingError {
  override name = 'KlingTransportError';
  readonly action: KlingAction;
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    const clientError =
      httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 429;
    this.action = clientError ? 'fail' : 'retry';
  }
}

/** The call did not finish within the client's timeout. */
export class KlingTimeoutError extends KlingTransportError {
  override name = 'KlingTimeoutError';
}

/** A callback that cannot be trusted (`signature`: missing, stale or wrong) or read (`body`). */
export class KlingCallbackError extends Error {
  override name = 'KlingCallbackError';
  constructor(
    message: string,
    readonly reason: 'signature' | 'body',
  ) {
    super(message);
  }
}

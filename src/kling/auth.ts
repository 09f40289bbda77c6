import jwt from 'jsonwebtoken';
import type { KlingAuth } from '../config';

/** Kling's official sample: valid for 30 minutes, effective 5 s in the past to absorb clock skew. */
const TOKEN_TTL_SEC = 1800;
const TOKEN_NBF_SKEW_SEC = 5;
/** A cached token is re-signed this long before it expires, so a slow request never carries a dying token. */
const TOKEN_REFRESH_MARGIN_SEC = 300;

/** Signs the JWT Kling expects for an AccessKey/SecretKey pair (HS256, iss = access key). */
export function signKlingToken(accessKey: string, secretKey: string, nowSec: number): string {
  return jwt.sign({ iss: accessKey, exp: nowSec + TOKEN_TTL_SEC, nbf: nowSec - TOKEN_NBF_SKEW_SEC }, secretKey, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ: 'JWT' },
    noTimestamp: true,
  });
}

/**
 * The bearer token for every request: the API key as is, or a JWT reused until shortly before it expires.
 * Holds the secrets so nothing else has to; `secrets()` lets error paths scrub them from any text.
 */
export class KlingCredentials {
  private cached?: { token: string; exp: number };

  constructor(
    private readonly auth: KlingAuth,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a rejected token can be replaced by signing a new one (an API key cannot). */
  get canRefresh(): boolean {
    return !('apiKey' in this.auth);
  }

  bearer(): string {
    if ('apiKey' in this.auth) return this.auth.apiKey;
    const nowSec = Math.floor(this.now() / 1000);
    if (!this.cached || nowSec >= this.cached.exp - TOKEN_REFRESH_MARGIN_SEC) {
      this.cached = {
        token: signKlingToken(this.auth.accessKey, this.auth.secretKey, nowSec),
        exp: nowSec + TOKEN_TTL_SEC,
      };
    }
    return this.cached.token;
  }

  /** Kling refused the token (1000–1004): the next call signs a fresh one. */
  invalidate(): void {
    this.cached = undefined;
  }

  secrets(): string[] {
    const values = 'apiKey' in this.auth ? [this.auth.apiKey] : [this.auth.secretKey, this.auth.accessKey];
    if (this.cached) values.push(this.cached.token);
    return values.filter((v) => v.length >= 4);
  }
}

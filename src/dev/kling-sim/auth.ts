import jwt from 'jsonwebtoken';
import { Refusal } from './refusal';

/** Keys the simulator accepts when none are given (also printed by `npm run kling-sim`). */
export const DEMO_KLING_KEYS = {
  apiKey: 'sim-api-key',
  accessKey: 'sim-access-key',
  secretKey: 'sim-secret-key',
} as const;

export interface KlingKeys {
  apiKey?: string;
  accessKey?: string;
  secretKey?: string;
}

/**
 * Kling's two ways in: a bearer API key, or an HS256 JWT signed with the secret key whose `iss` is the access key.
 * Answers the refusal Kling gives (1000-1004), or undefined when the request may go on.
 */
export function authenticate(
  keys: KlingKeys,
  authorization: string | undefined,
  now: () => number,
): Refusal | undefined {
  if (!authorization?.trim()) return new Refusal(1001, 'Authorization is empty');
  const match = /^Bearer (\S+)$/.exec(authorization);
  if (!match) return new Refusal(1002, 'Authorization is invalid');
  const token = match[1]!;
  if (keys.apiKey && token === keys.apiKey) return undefined;
  if (keys.accessKey && keys.secretKey && token.split('.').length === 3) {
    let claims: jwt.JwtPayload | string;
    try {
      claims = jwt.verify(token, keys.secretKey, {
        algorithms: ['HS256'],
        ignoreExpiration: true,
        ignoreNotBefore: true,
      });
    } catch {
      return new Refusal(1002, 'Authorization is invalid');
    }
    if (typeof claims === 'string' || claims.iss !== keys.accessKey) return new Refusal(1000, 'Authentication failed');
    const nowSec = Math.floor(now() / 1000);
    if (typeof claims.nbf === 'number' && claims.nbf > nowSec)
      return new Refusal(1003, 'Authorization is not yet valid');
    if (typeof claims.exp !== 'number' || claims.exp <= nowSec) return new Refusal(1004, 'Authorization has expired');
    return undefined;
  }
  return new Refusal(1000, 'Authentication failed');
}

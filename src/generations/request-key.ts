import { createHash } from 'node:crypto';
import type { PricedRequest } from '../pricing';

/** Fields that say where to deliver or how to name a task, not what to generate. */
const NOT_CONTENT = new Set(['callback_url', 'external_task_id']);
/** Free text compared after trimming and collapsing whitespace. */
const TEXT = new Set(['prompt', 'negative_prompt']);

function canonical(value: unknown, key?: string): unknown {
  if (typeof value === 'string' && key && TEXT.has(key)) return value.trim().replace(/\s+/g, ' ');
  if (Array.isArray(value)) return value.map((item) => canonical(item));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || v === null || NOT_CONTENT.has(k)) continue;
      const c = canonical(v, k);
      // The new standard nests external_task_id and callback_url in `options`: left empty, it says nothing.
      if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  return value;
}

/**
 * Identifies "the same generation" for duplicate detection: the endpoint, the normalized prompt and every
 * other body field (each priced parameter, the input image), and the source of an extension. Expects the
 * quote's normalized request, so defaults left out and defaults spelled out compare equal.
 */
export function requestKey(request: PricedRequest): string {
  const text = JSON.stringify(canonical({ endpoint: request.endpoint, body: request.body, source: request.source }));
  return createHash('sha256').update(text).digest('hex');
}

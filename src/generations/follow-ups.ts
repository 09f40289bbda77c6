// Not '../pricing': its index reads the built-in catalog file, which the worker's bundle does not carry.
import { PricingError } from '../pricing/errors';
import type { PriceCatalog } from '../pricing/catalog';
import type { PricedRequest, Quote } from '../pricing/types';
import type { FollowUpKind, Generation } from './types';

/** A follow-up a finished job offers, priced by the catalog. */
export interface FollowUp {
  kind: FollowUpKind;
  quote: Quote;
}

export const FOLLOW_UP_KINDS: readonly FollowUpKind[] = ['reroll', 'extend', 'upgrade'];

/**
 * The request a follow-up of a succeeded job makes, as the catalog prices it today: the same request (re-roll),
 * about 5 s more of its video (extend), or the same request in the next mode up (upgrade). Undefined when the
 * job has none of that kind or the catalog cannot price it: such a follow-up is not offered.
 */
export function followUpQuote(job: Generation, kind: FollowUpKind, catalog: PriceCatalog): Quote | undefined {
  if (job.state !== 'succeeded') return undefined;
  const asked: PricedRequest = { endpoint: job.endpoint, body: job.request, ...(job.source && { source: job.source }) };
  try {
    switch (kind) {
      case 'reroll':
        return catalog.quote(asked);
      case 'upgrade':
        return catalog.nextModeUp(asked);
      case 'extend': {
        const video = job.result?.videos[0];
        return video ? catalog.extension(asked, video) : undefined;
      }
    }
  } catch (error) {
    // A job priced by an older list the catalog no longer covers: nothing to offer.
    if (error instanceof PricingError) return undefined;
    throw error;
  }
}

/** Every follow-up the job offers, in the order the card shows them. */
export function followUps(job: Generation, catalog: PriceCatalog): FollowUp[] {
  return FOLLOW_UP_KINDS.flatMap((kind) => {
    const quote = followUpQuote(job, kind, catalog);
    return quote ? [{ kind, quote }] : [];
  });
}

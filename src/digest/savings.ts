import type { KlingEndpoint, PriceCatalog, PricedRequest } from '../pricing/index';
import type { Millicredits } from '../money/credits';
import type { JobGroup } from './store';

/** One piece of advice, with what following it would have saved on the day's real jobs. */
export interface SavingsTip {
  kind: 'std-drafts' | 'short-drafts' | 'audio' | 'duplicates';
  jobs: number;
  savedMc: Millicredits;
  text: string;
}

/** What a job would have cost with one priced field changed; undefined when the catalog cannot price that variant. */
function variantSaving(catalog: PriceCatalog, group: JobGroup, change: Record<string, unknown>): Millicredits | undefined {
  const request: PricedRequest = { endpoint: group.endpoint as KlingEndpoint, body: group.params };
  try {
    const actual = catalog.quote(request);
    // A change to undefined drops the field (no audio also means no voice list).
    const body = Object.fromEntries(Object.entries({ ...actual.request.body, ...change }).filter(([, v]) => v !== undefined));
    const variant = catalog.quote({ ...actual.request, body });
    const saved = actual.priceMc - variant.priceMc;
    return saved > 0 ? saved * group.count : undefined;
  } catch {
    // A configuration the catalog no longer prices, or a variant Kling does not offer: no advice, never a guess.
    return undefined;
  }
}

function isVideo(group: JobGroup): boolean {
  return group.endpoint === 'text2video' || group.endpoint === 'image2video';
}

/**
 * Advice computed from the day's succeeded jobs, each priced with the catalog on the variant request:
 * - drafts (a prompt the same person generated again later that day) made in pro/4k that std would have done;
 * - 10 s drafts where a 5 s draft, extended once it was the keeper, would have done;
 * - audio that was paid for (worth it only when the clip needs sound);
 * - repeats of a request that had already succeeded, which the bot offers back at no cost.
 * Tips overlap (a pro 10 s draft counts in two), so they are not added up.
 */
export function savingsTips(catalog: PriceCatalog, jobs: JobGroup[]): SavingsTip[] {
  const tips = new Map<SavingsTip['kind'], { jobs: number; savedMc: number }>();
  const add = (kind: SavingsTip['kind'], count: number, saved: Millicredits | undefined) => {
    if (!saved) return;
    const tip = tips.get(kind) ?? { jobs: 0, savedMc: 0 };
    tips.set(kind, { jobs: tip.jobs + count, savedMc: tip.savedMc + saved });
  };
  for (const group of jobs) {
    if (isVideo(group)) {
      const mode = String(group.params.mode ?? '');
      if (group.redone && (mode === 'pro' || mode === '4k')) add('std-drafts', group.count, variantSaving(catalog, group, { mode: 'std' }));
      if (group.redone && Number(group.params.duration ?? 5) > 5) add('short-drafts', group.count, variantSaving(catalog, group, { duration: '5' }));
      if (group.params.sound === 'on') add('audio', group.count, variantSaving(catalog, group, { sound: 'off', voice_list: undefined }));
    }
    if (group.duplicate) add('duplicates', group.count, group.actualMc);
  }
  const text: Record<SavingsTip['kind'], (jobs: number) => string> = {
    'std-drafts': (n) => `${plural(n, 'draft')} made in pro/4k and redone later: drafting in std would have saved`,
    'short-drafts': (n) => `${plural(n, 'draft')} of 10 s redone later: a 5 s draft, extended once it is the keeper, would have saved`,
    audio: (n) => `${plural(n, 'video')} with audio: leaving it off where the clip needs no sound saves up to`,
    duplicates: (n) => `${plural(n, 'video')} repeated a request that had already succeeded: reusing the earlier video would have saved`,
  };
  return [...tips.entries()]
    .map(([kind, t]) => ({ kind, jobs: t.jobs, savedMc: t.savedMc, text: text[kind](t.jobs) }))
    .sort((a, b) => b.savedMc - a.savedMc);
}

export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

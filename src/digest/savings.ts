import type { KlingEndpoint, PriceCatalog, PricedRequest } from '../pricing/index';
import { mc, subMc, sumMc, timesMc, type Millicredits } from '../money/credits';
import type { JobGroup } from './store';

/** One piece of advice, with what following it would have saved on the day's real jobs. */
export interface SavingsTip {
  /** short-drafts: the model can be extended afterwards; short-drafts-no-extend: Kling does not extend it. */
  kind: 'std-drafts' | 'short-drafts' | 'short-drafts-no-extend' | 'audio' | 'duplicates';
  jobs: number;
  savedMc: Millicredits;
  text: string;
}

/** What a job would have cost with one priced field changed; undefined when the catalog cannot price that variant. */
function variantSaving(
  catalog: PriceCatalog,
  group: JobGroup,
  change: Record<string, unknown>,
): Millicredits | undefined {
  const request: PricedRequest = { endpoint: group.endpoint as KlingEndpoint, body: group.params };
  try {
    const actual = catalog.quote(request);
    // A change to undefined drops the field (no audio also means no voice list).
    const body = Object.fromEntries(
      Object.entries({ ...actual.request.body, ...change }).filter(([, v]) => v !== undefined),
    );
    const variant = catalog.quote({ ...actual.request, body });
    const saved = subMc(actual.priceMc, variant.priceMc);
    return saved > 0 ? timesMc(saved, group.count) : undefined;
  } catch {
    // A configuration the catalog no longer prices, or a variant Kling does not offer: no advice, never a guess.
    return undefined;
  }
}

/** Whether the catalog prices extending a video made with the group's model and mode (Kling extends only some). */
function extendable(catalog: PriceCatalog, group: JobGroup): boolean {
  try {
    const { body } = catalog.quote({ endpoint: group.endpoint as KlingEndpoint, body: group.params }).request;
    const source = { model_name: String(body.model_name), ...(body.mode !== undefined && { mode: String(body.mode) }) };
    catalog.quote({ endpoint: 'video-extend', body: { video_id: 'draft' }, source });
    return true;
  } catch {
    return false;
  }
}

function isVideo(group: JobGroup): boolean {
  return group.endpoint === 'text2video' || group.endpoint === 'image2video';
}

/**
 * Advice computed from the day's succeeded jobs, each priced with the catalog on the variant request:
 * - drafts (a prompt the same person generated again later that day) made in pro/4k that std would have done;
 * - 10 s drafts where a 5 s draft would have done, then extended once it was the keeper where the catalog
 *   prices extending that model (Kling extends only some), else followed by the 10 s keeper;
 * - audio that was paid for (worth it only when the clip needs sound);
 * - repeats of a request that had already succeeded, which the bot offers back at no cost.
 * Tips overlap (a pro 10 s draft counts in two), so they are not added up.
 */
export function savingsTips(catalog: PriceCatalog, jobs: JobGroup[]): SavingsTip[] {
  const tips = new Map<SavingsTip['kind'], { jobs: number; savedMc: Millicredits }>();
  const add = (kind: SavingsTip['kind'], count: number, saved: Millicredits | undefined) => {
    if (!saved) return;
    const tip = tips.get(kind) ?? { jobs: 0, savedMc: mc(0) };
    tips.set(kind, { jobs: tip.jobs + count, savedMc: sumMc([tip.savedMc, saved]) });
  };
  for (const group of jobs) {
    if (isVideo(group)) {
      const mode = String(group.params.mode ?? '');
      if (group.redone && (mode === 'pro' || mode === '4k'))
        add('std-drafts', group.count, variantSaving(catalog, group, { mode: 'std' }));
      if (group.redone && Number(group.params.duration ?? 5) > 5) {
        const kind = extendable(catalog, group) ? 'short-drafts' : 'short-drafts-no-extend';
        add(kind, group.count, variantSaving(catalog, group, { duration: '5' }));
      }
      if (group.params.sound === 'on')
        add('audio', group.count, variantSaving(catalog, group, { sound: 'off', voice_list: undefined }));
    }
    if (group.duplicate) add('duplicates', group.count, group.actualMc);
  }
  const text: Record<SavingsTip['kind'], (jobs: number) => string> = {
    'std-drafts': (n) => `${plural(n, 'draft')} made in pro/4k and redone later: drafting in std would have saved`,
    'short-drafts': (n) =>
      `${plural(n, 'draft')} of 10 s redone later: a 5 s draft, extended once it is the keeper, would have saved`,
    'short-drafts-no-extend': (n) =>
      `${plural(n, 'draft')} of 10 s redone later (Kling does not extend this model): 5 s drafts before the 10 s keeper would have saved`,
    audio: (n) => `${plural(n, 'video')} with audio: leaving it off where the clip needs no sound saves up to`,
    duplicates: (n) =>
      `${plural(n, 'video')} repeated a request that had already succeeded: reusing the earlier video would have saved`,
  };
  return [...tips.entries()]
    .map(([kind, t]) => ({ kind, jobs: t.jobs, savedMc: t.savedMc, text: text[kind](t.jobs) }))
    .sort((a, b) => b.savedMc - a.savedMc);
}

export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

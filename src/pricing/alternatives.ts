import type { CatalogData } from './schema';
import type { Configuration } from './types';

/**
 * The knobs a person can turn one at a time to pay less: another mode, a shorter clip,
 * no voice control, no audio, a turbo model, a lower resolution, one image. Whether each is supported
 * and cheaper is for the catalog to decide by pricing it.
 */
export function singleChanges(data: CatalogData, config: Configuration): Configuration[] {
  if (config.kind === 'video') {
    const model = data.video.find((m) => m.model === config.model);
    if (!model) return [];
    const out: Configuration[] = [];
    for (const mode of model.modes) if (config.mode && mode !== config.mode) out.push({ ...config, mode });
    // The usual clip lengths only, not every second of a 3–15 s model.
    const shorter = [...new Set([Math.min(...model.durations), 5, 10])].filter(
      (s) => s < config.seconds && model.durations.includes(s),
    );
    for (const seconds of shorter) out.push({ ...config, seconds });
    if (config.voice) out.push({ ...config, voice: false });
    if (config.sound) out.push({ ...config, sound: false, voice: false });
    for (const turbo of data.video) {
      if (!turbo.turbo || turbo.model === config.model || !turbo.endpoints.includes(config.endpoint)) continue;
      const mode = turbo.modes.length === 0 ? undefined : (config.mode ?? 'std');
      out.push({ ...config, model: turbo.model, mode });
    }
    return out;
  }
  if (config.kind === 'image') {
    const model = data.images.find((m) => m.model === config.model);
    const out: Configuration[] = (model?.resolutions ?? [])
      .filter((resolution) => resolution !== config.resolution)
      .map((resolution) => ({ ...config, resolution }));
    if (config.n > 1) out.push({ ...config, n: 1 });
    return out;
  }
  return [];
}

/** Every silent configuration of the same model, endpoint and input: the draft is the cheapest of them. */
export function draftCandidates(data: CatalogData, config: Configuration): Configuration[] {
  if (config.kind === 'video') {
    const model = data.video.find((m) => m.model === config.model);
    if (!model) return [];
    const modes = model.modes.length > 0 ? model.modes : [undefined];
    // A model that always makes sound has no silent draft.
    const sound = Boolean(model.audio?.always);
    return modes.flatMap((mode) =>
      model.durations.map((seconds) => ({ ...config, mode, seconds, sound, voice: false })),
    );
  }
  if (config.kind === 'image') {
    const model = data.images.find((m) => m.model === config.model);
    return (model?.resolutions ?? []).map((resolution) => ({ ...config, resolution }));
  }
  return [config];
}

/** "std instead of pro, 5 s instead of 10, no audio": what changed between two configurations. */
export function changeLabel(from: Configuration, to: Configuration): string {
  const parts: string[] = [];
  if (from.kind === 'video' && to.kind === 'video') {
    if (from.model !== to.model) parts.push(`${to.model} instead of ${from.model}`);
    if (from.mode !== to.mode && to.mode && from.mode) parts.push(`${to.mode} instead of ${from.mode}`);
    if (from.seconds !== to.seconds) parts.push(`${to.seconds} s instead of ${from.seconds}`);
    if (from.sound && !to.sound) parts.push('no audio');
    else if (from.voice && !to.voice) parts.push('no voice control');
  }
  if (from.kind === 'image' && to.kind === 'image') {
    if (from.resolution !== to.resolution) parts.push(`${to.resolution} instead of ${from.resolution}`);
    if (from.n !== to.n) parts.push(`${to.n} image${to.n === 1 ? '' : 's'} instead of ${from.n}`);
  }
  return parts.join(', ');
}

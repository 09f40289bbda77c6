import type { PriceCatalog } from '../../pricing';
import * as replies from '../blocks/replies';
import type { Feature } from '../deps';

/** "std, pro or 4k · 3–15 s · audio · multi-shot · reference video": what --model M allows. */
function offers(catalog: PriceCatalog, model: string): string {
  const caps = catalog.capabilities(model);
  const sorted = [...caps.durations].sort((a, b) => a - b);
  const seconds = sorted.length > 2 ? `${sorted[0]}–${sorted.at(-1)} s` : `${sorted.join(' or ')} s`;
  return [
    caps.modes.length > 0 ? caps.modes.join('/') : 'no mode',
    seconds,
    ...(caps.alwaysAudio ? ['always with audio'] : caps.sound ? [`audio (${caps.audioModes.join('/')})`] : []),
    ...(caps.multiShot ? ['--multishot'] : []),
    ...(caps.videoInput ? ['--video'] : []),
    ...(caps.endpoints.includes('image2video') ? [] : ['no --image']),
    ...(caps.endpoints.includes('text2video') ? [] : ['needs --image']),
  ].join(' · ');
}

export const help: Feature = {
  commands: {
    async help(ctx, deps) {
      const names = new Set([...deps.catalog.models('text2video'), ...deps.catalog.models('image2video')]);
      const models = [...names].map((name) => ({ name, offers: offers(deps.catalog, name) }));
      await ctx.ack(replies.help(models));
    },
  },
};

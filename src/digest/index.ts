// The daily digest and period close (ARCHITECTURE.md, digest/). SLACK implements DigestPoster and calls postNow / preview.
export {
  DigestService,
  DigestDayError,
  NoDigestChannelError,
  type DigestPoster,
  type DigestServiceOptions,
} from './service';
export { dayLabel, type DigestContent } from './content';
export { renderTrendChart } from './chart';
export { plural } from './savings';
export { dueDay, latestFire, dayOf, dayBefore, daysEndingWith } from './schedule';
export type { PersonLine, TagLine } from '../budget/reports';
export { DigestStore, type DigestFigures, type EstimateAccuracy, type ModelLine } from './store';

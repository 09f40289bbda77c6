import type { Millicredits } from '../money/credits';

export type KlingEndpoint = 'text2video' | 'image2video' | 'video-extend' | 'images/generations' | 'kolors-virtual-try-on';

/** A Kling request body exactly as the API defines it (model_name, mode, duration "5"/"10", sound "on"/"off", voice_list, n, ...). */
export interface PricedRequest {
  endpoint: KlingEndpoint;
  body: Record<string, unknown>;
  /** video-extend only: model and mode of the source video (the body has only video_id). */
  source?: { model_name: string; mode?: string };
}

export interface Alternative {
  label: string; // "std instead of pro"
  request: PricedRequest;
  priceMc: Millicredits;
  savesMc: Millicredits;
}

export interface Quote {
  priceMc: Millicredits;
  /** Normalized: defaults filled in (model_name, mode, duration, sound). */
  request: PricedRequest;
  description: string; // "kling-v2-6 pro · 10 s · audio"
  catalogVersion: string;
  /** Cheaper configurations that exist, cheapest first. */
  alternatives: Alternative[];
}

export type Mode = 'std' | 'pro' | '4k';

/** The priced parameters of a request, read from its body with Kling's defaults filled in. */
export type Configuration =
  | { kind: 'video'; endpoint: 'text2video' | 'image2video'; model: string; mode?: Mode; seconds: number; sound: boolean; voice: boolean }
  | { kind: 'extend'; model: string; mode?: Mode }
  | { kind: 'image'; model: string; input: 'text' | 'image'; resolution: '1k' | '2k' | '4k'; n: number }
  | { kind: 'try-on'; model: string };

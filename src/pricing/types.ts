import type { Millicredits } from '../money/credits';

/** Endpoints of the legacy API (model_name in the body), each one path under /v1. */
export type LegacyEndpoint =
  | 'text2video'
  | 'image2video'
  | 'omni-video'
  | 'video-extend'
  | 'images/generations'
  | 'kolors-virtual-try-on';
/** The new-standard API names the model in the path: `text-to-video/kling-3.0-turbo`. */
export type StandardEndpoint = `text-to-video/${string}`;
export type KlingEndpoint = LegacyEndpoint | StandardEndpoint;

export function isStandardEndpoint(endpoint: string): endpoint is StandardEndpoint {
  return endpoint.startsWith('text-to-video/');
}

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
  | {
      kind: 'video';
      /** What is made (from a prompt, from an image); the model's API decides the path it is sent to. */
      endpoint: 'text2video' | 'image2video';
      model: string;
      mode?: Mode;
      seconds: number;
      sound: boolean;
      voice: boolean;
      /** A reference video is given (omni-video's video_list), which Kling prices higher. */
      videoInput: boolean;
      /** Kling cuts the prompt into shots itself (multi_shot with shot_type intelligence). */
      multiShot: boolean;
    }
  | { kind: 'extend'; model: string; mode?: Mode }
  | { kind: 'image'; model: string; input: 'text' | 'image'; resolution: '1k' | '2k' | '4k'; n: number }
  | { kind: 'try-on'; model: string };

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { shareFile } from './uploads';

export interface VideoUploadOptions {
  /** Videos larger than this are linked, not uploaded (SLACK_UPLOAD_MAX_MB). */
  maxMb: number;
  /** How long fetching one video from Kling may take (default 5 min). */
  downloadTimeoutMs?: number;
}

export interface VideoToShare {
  url: string;
  filename: string;
  channelId: string;
  threadTs: string;
  comment: string;
  /** What the file is, in the reasons a person reads (default "video"). */
  noun?: 'video' | 'image';
}

/** Why a video stays a link: shown to the person under the link. */
export class NotUploaded extends Error {}

const MB = 1024 * 1024;

/**
 * Copies a finished video from Kling into a Slack thread, so it plays inline and outlives Kling's 30 days.
 * The file passes through a temporary file on disk, never memory whole, and is cut off at the size limit.
 * Throws NotUploaded, with a reason a person can read, when the video stays a link.
 */
export async function uploadVideo(client: WebClient, video: VideoToShare, options: VideoUploadOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kling-video-'));
  try {
    const path = join(dir, video.filename);
    await download(video.url, path, options, video.noun ?? 'video');
    try {
      await shareFile(client, {
        path,
        filename: video.filename,
        channelId: video.channelId,
        threadTs: video.threadTs,
        comment: video.comment,
      });
    } catch (error) {
      const code = error instanceof WebAPIPlatformError ? ` (${error.data.error})` : '';
      throw new NotUploaded(`Slack did not take the upload${code}`, { cause: error });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function download(url: string, path: string, options: VideoUploadOptions, noun: string): Promise<void> {
  const max = options.maxMb * MB;
  const tooBig = (bytes: number) =>
    new NotUploaded(
      `the ${noun} is ${Math.ceil(bytes / MB)} MB, above the ${options.maxMb} MB this bot uploads to Slack`,
    );
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.downloadTimeoutMs ?? 300_000) });
  } catch (error) {
    throw new NotUploaded(`the ${noun} could not be fetched from Kling`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new NotUploaded(`Kling answered HTTP ${response.status} when the ${noun} was fetched`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > max) {
    await response.body.cancel();
    throw tooBig(declared);
  }
  let seen = 0;
  // A server that sends no length (or the wrong one) is stopped at the limit, not after filling the disk.
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > max ? tooBig(seen) : null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      limit,
      createWriteStream(path),
    );
  } catch (error) {
    if (error instanceof NotUploaded) throw error;
    throw new NotUploaded(`the ${noun} could not be fetched from Kling`, { cause: error });
  }
}

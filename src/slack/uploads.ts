import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { WebClient } from '@slack/web-api';

export interface FileToShare {
  /** A file on disk: its bytes are streamed to Slack, never read into memory whole. */
  path: string;
  filename: string;
  channelId: string;
  /** The parent message when the file goes into a thread. */
  threadTs?: string;
  comment: string;
}

/**
 * Slack's upload in three steps: files.getUploadURLExternal with the file's length, the bytes POSTed to the
 * upload_url, files.completeUploadExternal to share it in the channel. @slack/web-api's filesUploadV2 does
 * the same but reads the whole file into memory (twice), which a large export must not.
 */
export async function shareFile(client: WebClient, file: FileToShare): Promise<void> {
  const { size } = await stat(file.path);
  const ticket = await client.files.getUploadURLExternal({ filename: file.filename, length: size });
  await postBytes(ticket.upload_url!, file.path, size);
  await client.files.completeUploadExternal({
    files: [{ id: ticket.file_id!, title: file.filename }],
    channel_id: file.channelId,
    ...(file.threadTs && { thread_ts: file.threadTs }),
    initial_comment: file.comment,
  });
}

function postBytes(url: string, path: string, size: number): Promise<void> {
  const target = new URL(url);
  const request = (target.protocol === 'https:' ? https : http).request(target, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    timeout: 120_000,
  });
  request.on('timeout', () => request.destroy(new Error('Slack took too long to take the file')));
  const answered = new Promise<void>((resolve, reject) => {
    request.on('response', (response) => {
      response.resume();
      if (response.statusCode === 200) resolve();
      // The upload URL carries no secret worth hiding, but it is not needed in the message either.
      else reject(new Error(`Slack refused the file's bytes (HTTP ${response.statusCode})`));
    });
    request.on('error', reject);
  });
  return Promise.all([pipeline(createReadStream(path), request), answered]).then(() => undefined);
}

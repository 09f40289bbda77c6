import type { WebClient } from '@slack/web-api';
import type { DigestContent, DigestPoster } from '../digest';
import { digestMessage } from './blocks/digest';
import type { People } from './people';

/** The digest as a message, its people named. */
export async function renderDigest(content: DigestContent, people: People) {
  return digestMessage(
    content,
    await people.names(content.figures.people.flatMap((p) => (p.userId ? [p.userId] : []))),
  );
}

/**
 * The digest's way into Slack. The chart is uploaded first, so a workspace that refuses uploads
 * fails the call before anything is posted (DIGEST then posts the text-only version).
 */
export function digestPoster(client: WebClient, people: People): DigestPoster {
  return {
    async post(channelId, content, chart) {
      if (chart)
        await client.filesUploadV2({
          channel_id: channelId,
          file: chart.png,
          filename: chart.filename,
          title: chart.title,
        });
      const message = await renderDigest(content, people);
      await client.chat.postMessage({
        channel: channelId,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
      });
    },
  };
}

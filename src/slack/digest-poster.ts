import type { WebClient } from '@slack/web-api';
import type { DigestPoster } from '../digest';
import { digestMessage } from './blocks/digest';

/**
 * The digest's way into Slack. The chart is uploaded first, so a workspace that refuses uploads
 * fails the call before anything is posted (DIGEST then posts the text-only version).
 */
export function digestPoster(client: WebClient): DigestPoster {
  return {
    async post(channelId, content, chart) {
      if (chart) await client.filesUploadV2({ channel_id: channelId, file: chart.png, filename: chart.filename, title: chart.title });
      const message = digestMessage(content);
      await client.chat.postMessage({ channel: channelId, text: message.text, blocks: message.blocks as never, unfurl_links: false });
    },
  };
}

import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { IMAGE_MAX_BYTES, imageProblem, sizeProblem } from '../kling/image-rules';
import { UsageError } from './commands/parse';

/** Slack's own hosts: the only ones the bot's token is ever sent to. */
const SLACK_HOST = /(^|\.)(slack\.com|slack-edge\.com|slack-files\.com)$/;
/** A file id in a Slack file link: /files/U123/F0ABC/name, /files-pri/T123-F0ABC/name. */
const FILE_ID = /(?:^|[/-])(F[0-9A-Z]{6,})(?=[/-]|$)/;
const MAX_REDIRECTS = 3;

/**
 * Images people keep in Slack, as Kling takes them: fetched with the bot's own token (files:read), checked
 * against Kling's rules, and sent as base64, so no private Slack URL ever leaves the bot.
 */
export class SlackImages {
  /** `apiUrl`: the Web API base when it is not Slack's (the offline workspace): its host counts as Slack's. */
  constructor(
    private readonly client: WebClient,
    private readonly token: string,
    private readonly apiUrl?: string,
  ) {}

  /** The Slack file a link names; undefined for any other link (a public URL, passed to Kling as it is). */
  fileId(link: string): string | undefined {
    const url = URL.canParse(link) ? new URL(link) : undefined;
    if (!url || !this.isSlack(url)) return undefined;
    return FILE_ID.exec(url.pathname)?.[1];
  }

  /** `--image`'s value as Kling's `image`: a Slack file's bytes in base64, or the public URL unchanged. */
  async forKling(link: string): Promise<string> {
    const id = this.fileId(link);
    return id ? (await this.fetch(id)).toString('base64') : link;
  }

  /** The file's bytes once they pass Kling's rules; a UsageError naming the rule or the reason otherwise. */
  async fetch(fileId: string): Promise<Buffer> {
    let file: { size?: number; url_private_download?: string; url_private?: string } | undefined;
    try {
      file = (await this.client.files.info({ file: fileId })).file;
    } catch (error) {
      if (!(error instanceof WebAPIPlatformError)) throw error;
      throw new UsageError(unreadable(error.data.error), 'generate');
    }
    // Kling's 10 MB limit, from the file's own record: a larger file is not downloaded at all.
    const tooBig = sizeProblem(file?.size ?? 0);
    if (tooBig) throw new UsageError(tooBig, 'generate');
    const url = file?.url_private_download ?? file?.url_private;
    if (!url) throw new UsageError('Slack gave no way to download that file.', 'generate');
    const bytes = await this.download(url);
    const problem = imageProblem(bytes);
    if (problem) throw new UsageError(problem, 'generate');
    return bytes;
  }

  private isSlack(url: URL): boolean {
    return SLACK_HOST.test(url.hostname) || (this.apiUrl !== undefined && new URL(this.apiUrl).host === url.host);
  }

  /**
   * A redirect is followed by hand: fetch would drop the token on a cross-origin hop (and Slack answers with
   * a login page), and it must never carry the token to a host that is not Slack's.
   */
  private async download(first: string): Promise<Buffer> {
    let url = new URL(first);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = this.isSlack(url) ? { authorization: `Bearer ${this.token}` } : {};
      const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      const next = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && next) {
        await response.body?.cancel();
        url = new URL(next, url);
        continue;
      }
      if (!response.ok || (response.headers.get('content-type') ?? '').startsWith('text/html')) {
        await response.body?.cancel();
        throw new UsageError('Slack would not hand over that file (it answered with a sign-in page).', 'generate');
      }
      const bytes = Buffer.from(await response.arrayBuffer());
      // The record's size may be stale: the bytes are checked again.
      if (bytes.length > IMAGE_MAX_BYTES) throw new UsageError(sizeProblem(bytes.length)!, 'generate');
      return bytes;
    }
    throw new UsageError('Slack sent that file through too many redirects.', 'generate');
  }
}

/** What a person can do about a file the bot cannot read. */
function unreadable(code: string | undefined): string {
  if (code === 'file_not_found' || code === 'file_deleted') {
    return 'The bot cannot see that file: it was deleted, or it is in a conversation the bot is not in.';
  }
  if (code === 'missing_scope') return 'The bot may not read files yet: reinstall it so it gets the files:read scope.';
  return `Slack would not show that file (${code ?? 'unknown error'}).`;
}

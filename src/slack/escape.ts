/**
 * Text that crosses into Slack. Everything a person typed is shown through `escape`, so a prompt with
 * `<!channel>` pings nobody, and cut with `truncate`, which never splits an emoji or an entity.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Slack's three control characters as entities (mrkdwn and plain_text alike). */
export function escape(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c]!);
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Escapes `text` and keeps it within `max` UTF-16 units (Slack's limits are at least that generous),
 * cutting between grapheme clusters and ending with "…" when something was cut.
 */
export function truncate(text: string, max: number, options: { escaped?: boolean } = {}): string {
  const shown = options.escaped === false ? (s: string) => s : escape;
  const whole = shown(text);
  if (whole.length <= max) return whole;
  let out = '';
  for (const { segment } of graphemes.segment(text)) {
    const piece = shown(segment);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/**
 * Slash command text arrives in Slack's wire format (should_escape: true): `&amp;`, `<@U1|name>`,
 * `<#C1|name>`, `<!channel>`, `<https://…|label>`. This turns it into what the person typed, which is
 * what Kling should see.
 */
export function decodeSlackText(text: string): string {
  return text
    .replace(/<([^<>]*)>/g, (_, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@')) return `@${label ?? target.slice(1)}`;
      if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
      if (target.startsWith('!subteam^')) return label ?? '@group';
      if (target.startsWith('!')) return `@${(label ?? target.slice(1)).replace(/^@/, '')}`;
      return target.startsWith('mailto:') ? (label ?? target.slice(7)) : target;
    })
    .replace(/&(amp|lt|gt);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name]!);
}

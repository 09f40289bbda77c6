/** A project tag: lowercase letters, digits and dashes, at most 32 — safe in a CSV cell, a URL and a budget's name. */
export const TAG_PATTERN = /^[a-z0-9-]{1,32}$/;

export function isTag(text: string): boolean {
  return TAG_PATTERN.test(text);
}

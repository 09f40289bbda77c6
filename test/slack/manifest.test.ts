import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../src/slack/commands/parse';

const manifest = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');

describe('manifest.yml', () => {
  it("names every /kling subcommand in the usage hint Slack's autocomplete shows", () => {
    const hint = /^\s*usage_hint:\s*"(.*)"\s*$/m.exec(manifest)![1]!;
    expect(hint.length).toBeLessThanOrEqual(1000);
    // "/kling budget set <…>" → budget and set: every word the grammar takes before its first argument.
    const leading = (usage: string) => /^\/kling((?: [a-z]+(?= |$))+)/.exec(usage)![1]!.trim().split(' ');
    const words = new Set(Object.values(USAGE).flatMap(leading));
    // The reader of USAGE must find the grammar's words, or the check below would pass on nothing.
    expect([...words]).toEqual(expect.arrayContaining(['generate', 'estimate', 'budget', 'set', 'export', 'digest']));
    expect([...words].filter((word) => !new RegExp(`\\b${word}\\b`).test(hint))).toEqual([]);
  });
});

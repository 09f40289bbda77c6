import { describe, expect, it } from 'vitest';
import { parseCommand, tokenize, UsageError, type Command } from '../../src/slack/commands/parse';
import { quoteRequest, toPricedRequest } from '../../src/slack/commands/request';
import { builtInCatalog } from '../../src/pricing';
import { mc } from '../../src/money/credits';

function mistake(text: string): UsageError {
  try {
    parseCommand(text);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`"${text}" parsed without a mistake`);
}

function generate(text: string) {
  const command = parseCommand(text);
  if (command.kind !== 'generate' && command.kind !== 'estimate') throw new Error(`not a request: ${command.kind}`);
  return command;
}

describe('tokenize', () => {
  it('keeps quoted strings (straight and curly) and Slack entities whole', () => {
    expect(tokenize('a "b c" “d e” <@U1|ann lee> f').map((t) => [t.value, t.quoted])).toEqual([
      ['a', false],
      ['b c', true],
      ['d e', true],
      ['<@U1|ann lee>', false],
      ['f', false],
    ]);
  });

  it('refuses a quote that never closes, naming where it starts', () => {
    expect(() => tokenize('generate "a fox')).toThrow('The quote before `a fox` is never closed.');
  });
});

describe('parseCommand: generate and estimate', () => {
  it('takes flags in any order, around the prompt', () => {
    const command = generate('generate --mode pro a fox running --duration 10 through snow --audio --tag q4-ads');
    expect(command.prompt).toBe('a fox running through snow');
    expect(command.flags).toMatchObject({ mode: 'pro', duration: 10, audio: true, draft: false, tag: 'q4-ads' });
  });

  it('keeps the prompt as typed: unicode, newlines, and quotes used as emphasis', () => {
    const command = generate('generate 雪の中を走る狐 🦊\nthen a "close-up" --aspect 9:16');
    expect(command.prompt).toBe('雪の中を走る狐 🦊\nthen a "close-up"');
    expect(command.flags.aspect).toBe('9:16');
  });

  it('strips the quotes of a fully quoted prompt and reads quoted flag values', () => {
    const command = generate('generate "a fox --mode pro" --negative “blurry, text”');
    expect(command.prompt).toBe('a fox --mode pro');
    expect(command.flags.negative).toBe('blurry, text');
    expect(command.flags.mode).toBeUndefined();
  });

  it("accepts --flag=value and a phone's em dash", () => {
    expect(generate('generate a fox --mode=pro —duration 10').flags).toMatchObject({ mode: 'pro', duration: 10 });
  });

  it('decodes Slack escaping in the prompt so Kling sees what was typed', () => {
    expect(generate('generate cats &amp; dogs &lt;3 <@U123|ann> <!channel> <https://x.test/a.png>').prompt).toBe(
      'cats & dogs <3 @ann @channel https://x.test/a.png',
    );
  });

  it("reads --image from Slack's link form", () => {
    expect(generate('generate make it move --image <https://example.com/cat.png>').flags.image).toBe(
      'https://example.com/cat.png',
    );
  });

  it('estimate takes the same flags and an optional prompt', () => {
    const command = parseCommand('estimate --model kling-v2-6 --mode pro --audio');
    expect(command).toMatchObject({
      kind: 'estimate',
      prompt: '',
      flags: { model: 'kling-v2-6', mode: 'pro', audio: true },
    });
  });

  it.each([
    ['generate --mode pro', /prompt is missing/],
    ['generate a fox --mode ultra', /`--mode` must be std, pro or 4k/],
    ['generate a fox --duration ten', /`--duration` must be a whole number/],
    ['generate a fox --aspect 4:3', /`--aspect` must be 16:9, 9:16 or 1:1/],
    ['generate a fox --image not-a-url', /`--image` must be an http\(s\) URL/],
    ['generate a fox --speed 2', /`--speed` is not an option of generate/],
    ['generate a fox --mode', /`--mode` needs a value/],
    ['generate a fox --mode pro --mode std', /`--mode` is given twice/],
    ['generate a fox --audio=yes', /`--audio` takes no value/],
    ['generate a fox --negative ""', /`--negative` needs some text/],
  ])('%s → names the wrong part', (text, message) => {
    const error = mistake(text);
    expect(error.message).toMatch(message);
    expect(error.usage).toBe('generate');
  });

  it('counts the prompt limit in characters, not UTF-16 units', () => {
    expect(generate(`generate ${'🦊'.repeat(2500)}`).prompt).toHaveLength(5000);
    expect(mistake(`generate ${'🦊'.repeat(2501)}`).message).toMatch(/2501 characters; Kling takes at most 2500/);
  });
});

describe('parseCommand: the other commands', () => {
  it.each<[string, Command]>([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['HISTORY', { kind: 'history' }],
    ['batch', { kind: 'batch' }],
    ['batch --tag spring-launch', { kind: 'batch', tag: 'spring-launch' }],
    ['batch —tag=q4', { kind: 'batch', tag: 'q4' }],
    [
      'budget set tag:spring-launch week 40',
      { kind: 'budget-set', target: { scope: 'tag', id: 'spring-launch' }, period: 'week', limitMc: mc(40_000) },
    ],
    ['budget', { kind: 'budget' }],
    ['budget Yesterday', { kind: 'budget', period: { kind: 'yesterday' } }],
    ['budget last-week', { kind: 'budget', period: { kind: 'last-week' } }],
    [
      'budget 2026-11-30',
      {
        kind: 'budget',
        period: { kind: 'days', from: { year: 2026, month: 11, day: 30 }, to: { year: 2026, month: 11, day: 30 } },
      },
    ],
    ['status kbb_123', { kind: 'status', id: 'kbb_123' }],
    ['status', { kind: 'status' }],
    ['queue resume', { kind: 'queue-resume' }],
    ['cancel kbb_123', { kind: 'cancel', id: 'kbb_123' }],
    ['digest now', { kind: 'digest', action: 'now' }],
    ['digest preview', { kind: 'digest', action: 'preview' }],
    ['digest preview today', { kind: 'digest', action: 'preview', day: 'today' }],
    ['digest preview 2026-03-29', { kind: 'digest', action: 'preview', day: '2026-03-29' }],
    [
      'budget set workspace day 200',
      { kind: 'budget-set', target: { scope: 'workspace' }, period: 'day', limitMc: mc(200_000) },
    ],
    [
      'budget set <#C0VIDEO|video> week 12.5',
      { kind: 'budget-set', target: { scope: 'channel', id: 'C0VIDEO' }, period: 'week', limitMc: mc(12_500) },
    ],
    [
      'budget set <@U0GRACE|grace> month 50',
      { kind: 'budget-set', target: { scope: 'user', id: 'U0GRACE' }, period: 'month', limitMc: mc(50_000) },
    ],
    [
      'budget set <@U0GRACE> day 0',
      { kind: 'budget-set', target: { scope: 'user', id: 'U0GRACE' }, period: 'day', limitMc: mc(0) },
    ],
    [
      'budget set workspace month 1,000',
      { kind: 'budget-set', target: { scope: 'workspace' }, period: 'month', limitMc: mc(1_000_000) },
    ], // as the App Home modal reads it
    [
      'budget thresholds workspace day 80%,50,100',
      { kind: 'budget-thresholds', target: { scope: 'workspace' }, period: 'day', thresholds: [50, 80, 100] },
    ],
    ['budget alerts <#C0ALERTS|kling-alerts>', { kind: 'budget-alerts', channelId: 'C0ALERTS' }],
    ['budget confirm 20', { kind: 'budget-confirm', thresholdMc: mc(20_000) }],
    ['budget confirm 0.5', { kind: 'budget-confirm', thresholdMc: mc(500) }],
    ['budget confirm OFF', { kind: 'budget-confirm', thresholdMc: null }],
    ['budget forecast off', { kind: 'budget-forecast', on: false }],
    ['budget forecast ON', { kind: 'budget-forecast', on: true }],
    ['budget spikes 3 20', { kind: 'budget-spikes', spikes: { factor: 3, minMc: mc(20_000) } }],
    ['budget spikes 2.5 12.5', { kind: 'budget-spikes', spikes: { factor: 2.5, minMc: mc(12_500) } }],
    ['budget spikes off', { kind: 'budget-spikes', spikes: null }],
    ['budget timezone America/New_York', { kind: 'budget-timezone', timezone: 'America/New_York' }],
    ['export', { kind: 'export', period: { kind: 'month' }, by: 'job', format: 'csv' }],
    ['audit', { kind: 'audit', period: { kind: 'month' } }],
    ['audit LAST-WEEK', { kind: 'audit', period: { kind: 'last-week' } }],
    ['export last-week --by person', { kind: 'export', period: { kind: 'last-week' }, by: 'person', format: 'csv' }],
    ['export --by=Model yesterday', { kind: 'export', period: { kind: 'yesterday' }, by: 'model', format: 'csv' }],
    [
      'export 2026-11 --format focus',
      { kind: 'export', period: { kind: 'calendar-month', year: 2026, month: 11 }, by: 'job', format: 'focus' },
    ],
    [
      'export 2026-02-28',
      {
        kind: 'export',
        period: { kind: 'days', from: { year: 2026, month: 2, day: 28 }, to: { year: 2026, month: 2, day: 28 } },
        by: 'job',
        format: 'csv',
      },
    ],
    [
      'export 2026-11-01..2026-11-15 —by tag',
      {
        kind: 'export',
        period: { kind: 'days', from: { year: 2026, month: 11, day: 1 }, to: { year: 2026, month: 11, day: 15 } },
        by: 'tag',
        format: 'csv',
      },
    ],
    ['account', { kind: 'account' }],
    ['account alerts 5', { kind: 'account-alerts', alert: 'runout', days: 5 }],
    ['account alerts off', { kind: 'account-alerts', alert: 'runout', days: 0 }],
    ['account expiry 14', { kind: 'account-alerts', alert: 'expiry', days: 14 }],
    ['account reconcile 0.5', { kind: 'account-reconcile', toleranceMc: mc(500) }],
    ['account reconcile OFF', { kind: 'account-reconcile', toleranceMc: null }],
  ])('"%s"', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each([
    ['render a fox', /`render` is not a \/kling command/, 'all'],
    ['budget set #video day 10', /`#video` is not a budget/, 'budgetSet'],
    ['budget set workspace fortnight 10', /`fortnight` is not a period/, 'budgetSet'],
    ['budget set workspace day lots', /`lots` is not a number of credits/, 'budgetSet'],
    ['budget set workspace day -5', /cannot be below 0: say 0 or more/, 'budgetSet'],
    ['budget set workspace day 10 now', /`now` is more than this command takes/, 'budgetSet'],
    ['budget thresholds workspace day 80,150', /between 1 and 100/, 'budgetThresholds'],
    ['budget alerts general', /#channel/, 'budgetAlerts'],
    ['budget confirm', /Say the price in credits above which people confirm first/, 'budgetConfirm'],
    ['budget confirm never', /`never` is not a number of credits/, 'budgetConfirm'],
    ['budget confirm 20 credits', /`credits` is more than this command takes/, 'budgetConfirm'],
    ['budget raise', /`raise` is not a budget action/, 'budget'],
    ['budget 2026-02-30', /`2026-02-30` is not a date in the calendar/, 'budget'],
    ['budget yesterday please', /`please` is more than this command takes/, 'budget'],
    ['budget 2026-11', /`2026-11` is not a budget action: use a period/, 'budget'],
    ['budget timezone', /Say which timezone/, 'budgetTimezone'],
    ['budget timezone UTC now', /`now` is more than this command takes/, 'budgetTimezone'],
    ['budget forecast maybe', /Say on or off/, 'budgetForecast'],
    ['budget forecast on now', /`now` is more than this command takes/, 'budgetForecast'],
    ['budget spikes 1 20', /a number above 1/, 'budgetSpikes'],
    ['budget spikes 3', /Say the least spending in credits/, 'budgetSpikes'],
    ['budget spikes off 3', /`3` is more than this command takes/, 'budgetSpikes'],
    ['queue pause', /`pause` is not a queue action: use resume/, 'queue'],
    ['queue', /Say resume/, 'queue'],
    ['queue resume now', /`now` is more than this command takes/, 'queue'],
    ['cancel <!channel>', /is not a job id/, 'cancel'],
    ['digest later', /`later` is not a digest action/, 'digest'],
    ['digest preview monday', /`monday` is not a day: use today or a date like 2026-03-29/, 'digest'],
    ['digest now today', /.+/, 'digest'],
    ['history please', /`please` is more than this command takes/, 'history'],
    ['export 2026-02-30', /`2026-02-30` is not a date in the calendar/, 'export'],
    ['export 2026-13', /`2026-13` is not a period/, 'export'],
    ['export fortnight', /`fortnight` is not a period/, 'export'],
    ['export 2026-11-15..2026-11-01', /ends before it starts/, 'export'],
    ['export month week', /`week` is more than this command takes/, 'export'],
    ['export --by team', /`--by` must be job, person, channel, tag or model/, 'export'],
    ['export --format xlsx', /`--format` must be csv or focus/, 'export'],
    ['export --by', /`--by` needs a value/, 'export'],
    ['export --format focus --by person', /one row per job/, 'export'],
    ['export --tag x', /`--tag` is not an option of export/, 'export'],
    ['generate a fox --tag Spring', /`--tag` must be lowercase letters, digits and dashes, at most 32/, 'generate'],
    [
      `generate a fox --tag ${'a'.repeat(33)}`,
      /`--tag` must be lowercase letters, digits and dashes, at most 32/,
      'generate',
    ],
    ['generate a fox --tag', /`--tag` needs a value/, 'generate'],
    ['batch --tag', /`--tag` needs a value/, 'batch'],
    ['batch --tag a_b', /`--tag` must be lowercase/, 'batch'],
    ['batch --model x', /`--model` is not an option of batch/, 'batch'],
    ['batch --tag a b', /`b` is more than this command takes/, 'batch'],
    ['budget set tag: day 5', /A tag must be lowercase letters/, 'budgetSet'],
    ['audit 2026-04-31', /`2026-04-31` is not a date in the calendar/, 'audit'],
    ['audit month please', /`please` is more than this command takes/, 'audit'],
    ['account topup', /`topup` is not an account action/, 'accountAlerts'],
    ['account alerts soon', /`soon` is not a number of days between 1 and 365/, 'accountAlerts'],
    ['account alerts 0', /`0` is not a number of days/, 'accountAlerts'],
    ['account expiry', /Say a number of days, or off/, 'accountAlerts'],
    ['account reconcile', /Say how many credits a task may differ/, 'accountReconcile'],
    ['account reconcile lots', /`lots` is not a number of credits/, 'accountReconcile'],
    ['account alerts 3 days', /`days` is more than this command takes/, 'accountAlerts'],
  ])('"%s" → a clear mistake', (text, message, usage) => {
    const error = mistake(text);
    expect(error.message).toMatch(message);
    expect(error.usage).toBe(usage);
  });

  it('never echoes an entity that would ping', () => {
    expect(mistake('<!channel> hello').message).toBe('`@channel` is not a /kling command.');
  });
});

describe('toPricedRequest / quoteRequest', () => {
  it('fills the default model and sends Kling its own field names', () => {
    const { flags, prompt } = generate('generate a fox --mode pro --duration 10 --audio --aspect 1:1 --negative blur');
    expect(toPricedRequest(prompt, flags, 'kling-v2-6')).toEqual({
      endpoint: 'text2video',
      body: {
        model_name: 'kling-v2-6',
        prompt: 'a fox',
        negative_prompt: 'blur',
        mode: 'pro',
        duration: '10',
        sound: 'on',
        aspect_ratio: '1:1',
      },
    });
  });

  it('an image makes it image2video, where --aspect does not apply', () => {
    const { flags, prompt } = generate('generate move --image https://x.test/a.png');
    expect(toPricedRequest(prompt, flags, 'kling-v2-5-turbo').endpoint).toBe('image2video');
    const both = generate('generate move --image https://x.test/a.png --aspect 1:1');
    expect(() => toPricedRequest(both.prompt, both.flags, 'kling-v2-5-turbo')).toThrow(
      /`--aspect` does not go with `--image`/,
    );
  });

  it('prices through the catalog and turns its refusals into usage mistakes', () => {
    const ok = generate('generate a fox --model kling-v2-6 --mode pro --duration 10 --audio');
    expect(quoteRequest(builtInCatalog, ok.prompt, ok.flags, 'kling-v2-5-turbo').priceMc).toBe(10_000);
    const silentOnly = generate('generate a fox --model kling-v2-6 --mode std --audio');
    expect(() => quoteRequest(builtInCatalog, silentOnly.prompt, silentOnly.flags, 'kling-v2-5-turbo')).toThrow(
      UsageError,
    );
    const badDuration = generate('generate a fox --model kling-v2-6 --duration 7');
    expect(() => quoteRequest(builtInCatalog, badDuration.prompt, badDuration.flags, 'kling-v2-5-turbo')).toThrow(
      /--duration/,
    );
    const unknown = generate('generate a fox --model kling-v9');
    expect(() => quoteRequest(builtInCatalog, unknown.prompt, unknown.flags, 'kling-v2-5-turbo')).toThrow(/kling-v9/);
  });

  it('--draft is the cheapest variant of the same request', () => {
    const asked = generate('generate a fox --model kling-v2-6 --mode pro --duration 10 --audio');
    const draft = generate('generate a fox --model kling-v2-6 --mode pro --duration 10 --audio --draft');
    const full = quoteRequest(builtInCatalog, asked.prompt, asked.flags, 'x');
    const cheap = quoteRequest(builtInCatalog, draft.prompt, draft.flags, 'x');
    expect(cheap.priceMc).toBeLessThan(full.priceMc);
    expect(cheap.request.body.prompt).toBe('a fox');
  });
});

import { describe, expect, it } from 'vitest';
import { blockProblems, validateBlocks, viewProblems } from '../../src/dev/slack-workspace';

const section = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'section',
  text: { type: 'mrkdwn', text },
  ...extra,
});
const button = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  text: { type: 'plain_text', text },
  action_id: `a${Math.random()}`,
  ...extra,
});

describe('validateBlocks', () => {
  it('accepts a typical job card', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'A fox in the snow' } },
      section('*kling-v2-6* pro · 10 s', {
        fields: [{ type: 'mrkdwn', text: '*Price*\n5 credits' }],
        accessory: button('Cancel', { style: 'danger', value: 'g1' }),
      }),
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'queued' },
          { type: 'image', image_url: 'https://x/y.png', alt_text: 'x' },
        ],
      },
      { type: 'divider' },
      { type: 'image', image_url: 'https://x/y.png', alt_text: 'preview' },
      { type: 'actions', elements: [button('Approve', { style: 'primary' }), button('Deny')] },
    ];
    expect(validateBlocks(blocks, 'message')).toBeUndefined();
  });

  it('counts blocks per surface: 50 in a message, 100 in a modal or home', () => {
    const fifty = Array.from({ length: 50 }, () => ({ type: 'divider' }));
    const fiftyOne = [...fifty, { type: 'divider' }];
    expect(validateBlocks(fifty, 'message')).toBeUndefined();
    expect(validateBlocks(fiftyOne, 'message')).toBe('invalid_blocks');
    expect(validateBlocks(fiftyOne, 'modal')).toBeUndefined();
    expect(validateBlocks([...fiftyOne, ...fiftyOne], 'home')).toBe('invalid_blocks');
  });

  it('reports where and why, as Slack does', () => {
    expect(blockProblems([section('x'.repeat(3001))], 'message')).toEqual([
      '[ERROR] must be no more than 3000 characters [json-pointer:/blocks/0/text/text]',
    ]);
    expect(validateBlocks([section('x'.repeat(3000))], 'message')).toBeUndefined();
  });

  it.each([
    [
      'header over 150',
      [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      '/blocks/0/text/text',
    ],
    ['header in mrkdwn', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], '/blocks/0/text/type'],
    [
      '11 fields',
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
      '/blocks/0/fields',
    ],
    [
      'a field over 2000',
      [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }],
      '/blocks/0/fields/0/text',
    ],
    [
      '11 context elements',
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
      '/blocks/0/elements',
    ],
    [
      '26 buttons',
      [{ type: 'actions', elements: Array.from({ length: 26 }, () => button('b')) }],
      '/blocks/0/elements',
    ],
    [
      'button text over 75',
      [{ type: 'actions', elements: [button('b'.repeat(76))] }],
      '/blocks/0/elements/0/text/text',
    ],
    [
      'button value over 2000',
      [{ type: 'actions', elements: [button('b', { value: 'v'.repeat(2001) })] }],
      '/blocks/0/elements/0/value',
    ],
    [
      'action_id over 255',
      [{ type: 'actions', elements: [button('b', { action_id: 'a'.repeat(256) })] }],
      '/blocks/0/elements/0/action_id',
    ],
    [
      'duplicate action_id in a block',
      [{ type: 'actions', elements: [button('a', { action_id: 'x' }), button('b', { action_id: 'x' })] }],
      '/blocks/0/elements/1/action_id',
    ],
    ['block_id over 255', [{ type: 'divider', block_id: 'b'.repeat(256) }], '/blocks/0/block_id'],
    [
      'duplicate block_id',
      [
        { type: 'divider', block_id: 'same' },
        { type: 'divider', block_id: 'same' },
      ],
      '/blocks/1/block_id',
    ],
    ['image without alt_text', [{ type: 'image', image_url: 'https://x/y.png' }], '/blocks/0/alt_text'],
    ['image without image_url', [{ type: 'image', alt_text: 'x' }], '/blocks/0/image_url'],
    ['text object without type', [{ type: 'section', text: { text: 'hi' } }], '/blocks/0/text/type'],
    ['text object without text', [{ type: 'section', text: { type: 'mrkdwn' } }], '/blocks/0/text/text'],
    ['empty section text', [section('')], '/blocks/0/text/text'],
    [
      'input without label',
      [{ type: 'input', element: { type: 'plain_text_input', action_id: 'p' } }],
      '/blocks/0/label',
    ],
    ['input without element', [{ type: 'input', label: { type: 'plain_text', text: 'Prompt' } }], '/blocks/0/element'],
    ['unknown block type', [{ type: 'carousel' }], '/blocks/0/type'],
    [
      'a button in an input',
      [{ type: 'input', label: { type: 'plain_text', text: 'x' }, element: button('b') }],
      '/blocks/0/element/type',
    ],
  ])('refuses %s', (_name, blocks, pointer) => {
    const problems = blockProblems(blocks, 'modal');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.endsWith(`[json-pointer:${pointer}]`))).toBe(true);
  });

  it('refuses something that is not an array', () => {
    expect(validateBlocks({ type: 'divider' }, 'message')).toBe('invalid_blocks');
  });
});

describe('viewProblems', () => {
  const modal = (extra: Record<string, unknown> = {}) => ({
    type: 'modal',
    title: { type: 'plain_text', text: 'Batch' },
    blocks: [],
    ...extra,
  });

  it('accepts a modal with inputs and a submit button', () => {
    const view = modal({
      submit: { type: 'plain_text', text: 'Queue' },
      blocks: [
        {
          type: 'input',
          block_id: 'prompts',
          label: { type: 'plain_text', text: 'Prompts' },
          element: { type: 'plain_text_input', action_id: 'p', multiline: true },
        },
      ],
    });
    expect(viewProblems(view, 'modal')).toEqual([]);
  });

  it('checks a number input and a datepicker as Slack does', () => {
    const modal = (element: Record<string, unknown>) => ({
      type: 'modal',
      title: { type: 'plain_text', text: 'Raise' },
      submit: { type: 'plain_text', text: 'Raise' },
      blocks: [{ type: 'input', block_id: 'b', label: { type: 'plain_text', text: 'x' }, element }],
    });
    const good = [
      modal({ type: 'number_input', action_id: 'n', is_decimal_allowed: false, initial_value: '3', min_value: '1' }),
      modal({ type: 'datepicker', action_id: 'd', initial_date: '2026-12-05' }),
    ];
    for (const view of good) expect(viewProblems(view, 'modal')).toEqual([]);
    expect(viewProblems(modal({ type: 'number_input', action_id: 'n' }), 'modal')).toEqual([
      '[ERROR] must provide a boolean [json-pointer:/view/blocks/0/element/is_decimal_allowed]',
    ]);
    expect(
      viewProblems(modal({ type: 'number_input', is_decimal_allowed: false, initial_value: '2.5' }), 'modal'),
    ).toEqual(['[ERROR] must be a whole number [json-pointer:/view/blocks/0/element/initial_value]']);
    expect(
      viewProblems(
        modal({ type: 'number_input', is_decimal_allowed: true, initial_value: '1', min_value: '2' }),
        'modal',
      ),
    ).toEqual(['[ERROR] must be between min_value and max_value [json-pointer:/view/blocks/0/element/initial_value]']);
    expect(viewProblems(modal({ type: 'datepicker', initial_date: '5/12/2026' }), 'modal')).toEqual([
      '[ERROR] must match the format YYYY-MM-DD [json-pointer:/view/blocks/0/element/initial_date]',
    ]);
  });

  it('limits title, submit and close to 24 characters', () => {
    expect(viewProblems(modal({ title: { type: 'plain_text', text: 't'.repeat(25) } }))).toEqual([
      '[ERROR] must be no more than 24 characters [json-pointer:/view/title/text]',
    ]);
    expect(viewProblems(modal({ submit: { type: 'plain_text', text: 's'.repeat(25) } }))[0]).toContain(
      '/view/submit/text',
    );
    expect(viewProblems(modal({ close: { type: 'plain_text', text: 'c'.repeat(25) } }))[0]).toContain(
      '/view/close/text',
    );
    expect(viewProblems(modal({ title: { type: 'plain_text', text: 't'.repeat(24) } }))).toEqual([]);
  });

  it('wants a submit button when there are inputs, and checks the blocks inside', () => {
    const inputs = [
      {
        type: 'input',
        label: { type: 'plain_text', text: 'x' },
        element: { type: 'plain_text_input', action_id: 'p' },
      },
    ];
    expect(viewProblems(modal({ blocks: inputs }))[0]).toContain('/view/submit');
    expect(viewProblems({ type: 'home', blocks: [section('')] })[0]).toContain('/view/blocks/0/text/text');
  });
});

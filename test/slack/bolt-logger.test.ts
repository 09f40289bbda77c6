import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { boltLogger } from '../../src/slack/bolt-logger';

describe('boltLogger', () => {
  it('masks the token and response_url inside payloads Bolt logs as text', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = boltLogger(pino({ level: 'debug' }, sink));
    logger.debug('received', {
      token: 'verif-123',
      response_url: 'https://hooks.slack.com/commands/T/1/secret',
      text: 'a fox',
    });
    const out = lines.join('');
    expect(out).toContain('a fox');
    expect(out).not.toContain('verif-123');
    expect(out).not.toContain('hooks.slack.com/commands');
    expect(out).toContain('[redacted]');
  });

  it('does not even flatten a message below the level, and tells Bolt the level', () => {
    let flattened = 0;
    const payload = { toJSON: () => (flattened++, { text: 'a fox' }) };
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    const logger = boltLogger(pino({ level: 'info' }, sink));
    logger.debug('received', payload);
    expect(flattened).toBe(0);
    logger.info('received', payload);
    expect(flattened).toBe(1);
    expect(logger.getLevel()).toBe('info');
  });
});

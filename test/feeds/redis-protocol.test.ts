import { describe, expect, it } from 'vitest';
import {
  compareIds,
  decodeEntries,
  idTime,
  parseRunId,
  parseStreamInfo,
} from '../../src/feeds/redis-protocol.js';

const event = { kind: 'token', jti: 'j1', exp: 2, at: 1 };

describe('redis protocol helpers', () => {
  it('orders stream ids by time, then sequence', () => {
    expect(compareIds('5-0', '5-1')).toBeLessThan(0);
    expect(compareIds('6-0', '5-9')).toBeGreaterThan(0);
    expect(compareIds('1700000000000-3', '1700000000000-3')).toBe(0);
    expect(idTime('1700000000000-3')).toBe(1_700_000_000_000);
  });

  it('decodes XREAD replies in RESP2 and in RESP3 legacy shape, and a timeout', () => {
    const items = [
      ['1-0', ['e', JSON.stringify(event)]],
      ['2-0', ['seed', '3']],
    ];
    const expected = [
      { id: '1-0', event },
      { id: '2-0', event: null },
    ];
    expect(decodeEntries([['key', items]])).toEqual(expected);
    expect(decodeEntries(['key', items])).toEqual(expected);
    expect(decodeEntries(null)).toEqual([]);
  });

  it('skips what is not a well-formed event instead of throwing', () => {
    const junk = [
      '{',
      '[]',
      'null',
      JSON.stringify({ kind: 'nope', at: 1 }),
      JSON.stringify({ kind: 'session', at: 1 }),
      JSON.stringify({ kind: 'token', jti: 'x', at: 1 }),
      JSON.stringify({ kind: 'global', at: 'soon' }),
    ];
    const reply = [['key', junk.map((value, i) => [`${i + 1}-0`, ['e', value]])]];
    expect(decodeEntries(reply).every((entry) => entry.event === null)).toBe(true);
    expect(
      decodeEntries([
        [
          'key',
          [
            ['1-0', 'not fields'],
            [42, []],
          ],
        ],
      ]),
    ).toEqual([{ id: '1-0', event: null }]);
  });

  it('reads run_id and the XINFO STREAM fields it needs', () => {
    expect(parseRunId('# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\n')).toBe('abc123');
    expect(parseRunId(42)).toBeUndefined();
    expect(
      parseStreamInfo([
        'length',
        2,
        'last-generated-id',
        '9-1',
        'first-entry',
        ['3-0', ['e', '{}']],
      ]),
    ).toEqual({ lastGeneratedId: '9-1', firstEntryId: '3-0' });
    expect(parseStreamInfo(['length', 0, 'last-generated-id', '9-1', 'first-entry', null])).toEqual(
      {
        lastGeneratedId: '9-1',
        firstEntryId: null,
      },
    );
  });
});

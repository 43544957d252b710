/**
 * Habit 2: the code table is the single truth. The README's "Error codes" table must list
 * exactly the codes of ERROR_STATUS (which the AuthErrorCode union is made from), each with
 * the status the adapters answer it with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthError, ERROR_STATUS } from '../../src/errors.js';
import { errorResponse } from '../../src/http/response.js';

const README = join(import.meta.dirname, '../../README.md');

/**
 * Code → status from the first table under the heading `title`. A row may name several
 * codes (`A` · `B`) in its first cell; the status is the first number of the second cell.
 */
function readErrorTable(markdown: string, title = 'Error codes'): Map<string, number[]> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^#{2,3} ${title}\\s*$`).test(line));
  if (start < 0) throw new Error(`no "${title}" heading`);
  const rows: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,3} /.test(line)) break;
    if (line.startsWith('|')) rows.push(line);
    else if (rows.length > 0) break; // the table has ended
  }
  const table = new Map<string, number[]>();
  for (const row of rows.slice(2)) {
    const [codes = '', status = ''] = row.split('|').slice(1);
    const number = /\d{3}/.exec(status)?.[0];
    if (number === undefined) throw new Error(`no status in row: ${row}`);
    for (const [, code] of codes.matchAll(/`([A-Z][A-Z_]+)`/g)) {
      table.set(code as string, [...(table.get(code as string) ?? []), Number(number)]);
    }
  }
  return table;
}

describe('README error table', () => {
  const table = readErrorTable(readFileSync(README, 'utf8'));

  it('lists every code of ERROR_STATUS once, and nothing else', () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    for (const [code, statuses] of table) expect(statuses, code).toHaveLength(1);
  });

  it('gives each code the status the adapters answer it with', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(table.get(code), code).toEqual([status]);
      // The answer itself, not only the table: errorResponse is what every adapter sends.
      const answer = errorResponse(new AuthError(code as keyof typeof ERROR_STATUS, 'x'));
      expect(answer.status, code).toBe(status);
      expect(answer.body).toMatchObject({ error: { code } });
    }
  });

  it('the parser reads multi-code rows and notices a drift (so the checks above can fail)', () => {
    const doc = [
      '## Error codes',
      '',
      '| code | HTTP | |',
      '|---|---|---|',
      '| `TOKEN_MISSING` · `TOKEN_EXPIRED` | 401 | `global`, `user` |',
      '| `EMAIL_TAKEN` | 409 (an account exists) | |',
      '| `EMAIL_TAKEN` | 400 | |',
      '',
      '| `NOT_IN_THIS_TABLE` | 500 | |',
      '## Next',
    ].join('\n');
    expect(readErrorTable(doc)).toEqual(
      new Map([
        ['TOKEN_MISSING', [401]],
        ['TOKEN_EXPIRED', [401]],
        ['EMAIL_TAKEN', [409, 400]],
      ]),
    );
    expect(() => readErrorTable('# Nothing here')).toThrow(/heading/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  displayWidth,
  eventLine,
  formatDuration,
  formatElapsed,
  formatRate,
  formatTime,
  renderTable,
  truncate,
} from '../../../cli/format.js';
import { buildEvent } from '../../../lib/events.js';
import { submitter } from '../../fixtures/weiban.js';

describe('formatting for the terminal', () => {
  it('writes instants in UTC with seconds', () => {
    expect(formatTime(1_619_613_511)).toBe('2021-04-28 12:38:31Z');
  });

  it.each([
    [0, '0s'],
    [42, '42s'],
    [60, '1m'],
    [192, '3m 12s'],
    [7_500, '2h 5m'],
    [273_600, '3d 4h'],
  ])('writes %i seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('writes short elapsed times with a tenth of a second', () => {
    expect(formatElapsed(420)).toBe('0.4s');
    expect(formatElapsed(90_000)).toBe('1m 30s');
  });

  it('writes rates per second', () => {
    expect(formatRate(3, 10_000)).toBe('0.3/s');
    expect(formatRate(1_500, 2_000)).toBe('750/s');
  });

  it('counts Chinese characters as two columns, so tables line up', () => {
    expect(displayWidth('张伟')).toBe(4);
    expect(displayWidth('Cosmos')).toBe(6);

    const table = renderTable(
      ['NAME', 'CITY'],
      [
        ['张伟', '上海市'],
        ['Cosmos', 'Paris'],
      ],
    );

    const [header, first, second] = table.split('\n');
    expect(header).toBe('NAME    CITY');
    expect(first).toBe('张伟    上海市');
    expect(second).toBe('Cosmos  Paris');
  });

  it('cuts long text to a width with an ellipsis', () => {
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(truncate('abc', 5)).toBe('abc');
  });

  it('prints an event as time, form, submitter, city and id', () => {
    const event = buildEvent({
      corpId: 'corp-1',
      submitter: submitter({ user_name: '张伟', user_city: '上海市' }),
      type: 'weiban.form.submitted',
      detectedAtMs: 0,
    });
    const noCity = buildEvent({
      corpId: 'corp-1',
      submitter: submitter({ user_city: '' }),
      type: 'weiban.form.submitted',
      detectedAtMs: 0,
    });

    expect(eventLine(event)).toBe(
      '2021-04-28 12:38:31Z  form 842    张伟          上海市    weiban:corp-1:842:768',
    );
    expect(eventLine(noCity)).toBe(
      '2021-04-28 12:38:31Z  form 842    Cosmos        —         weiban:corp-1:842:768',
    );
  });
});

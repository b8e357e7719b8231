import { describe, expect, it } from 'vitest';
import { formIdFlag, instantFlag, integerFlag } from '../../../cli/args.js';
import { UsageError } from '../../../cli/errors.js';

const NOW_MS = Date.UTC(2026, 10, 26, 8, 0, 3);

describe('command-line values', () => {
  it.each([
    ['1764144000', 1_764_144_000],
    ['2026-11-26T08:00:00Z', 1_795_680_000],
    ['2026-11-26T16:00:00+08:00', 1_795_680_000],
    ['now', Math.floor(NOW_MS / 1000)],
  ])('reads the time %s', (raw, unixSeconds) => {
    expect(instantFlag(raw, '--since', NOW_MS)).toBe(unixSeconds);
  });

  it.each(['yesterday', '26/11/2026', '-5'])('refuses the time %s, naming the flag', (raw) => {
    expect(() => instantFlag(raw, '--since', NOW_MS)).toThrow(
      new UsageError(
        `--since must be unix seconds, an ISO-8601 date such as 2026-11-01T00:00:00+08:00, or "now"; got "${raw}"`,
      ),
    );
  });

  it('reads a form id and refuses anything else', () => {
    expect(formIdFlag('842')).toBe(842);
    expect(() => formIdFlag('84a')).toThrow('--form must be a form id such as 842; got "84a"');
    expect(() => formIdFlag('0')).toThrow('--form must be a form id');
    expect(() => formIdFlag(undefined)).toThrow('--form is required');
  });

  it('keeps whole numbers within their bounds', () => {
    const bounds = { min: 1, max: 4, fallback: 2 };
    expect(integerFlag(undefined, '--max-in-flight', bounds)).toBe(2);
    expect(integerFlag('4', '--max-in-flight', bounds)).toBe(4);
    expect(() => integerFlag('5', '--max-in-flight', bounds)).toThrow(
      '--max-in-flight must be a whole number from 1 to 4; got "5"',
    );
    expect(() => integerFlag('2.5', '--max-in-flight', bounds)).toThrow(UsageError);
  });
});

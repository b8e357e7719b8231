import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { validEnv } from '../support/env.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(validEnv());

    expect(config).toMatchObject({
      weibanBaseUrl: 'https://open.weibanzhushou.com',
      corpId: 'corp-1',
      secret: { kind: 'plain', value: 'topsecret-value' },
      formIds: [842, 901],
      startFrom: { mode: 'now' },
      lookbackSeconds: 600,
      pageSize: 100,
      maxInFlight: 4,
      maxPerMinute: 500,
      maxPerHour: 30_000,
      retentionDays: 400,
      answerFormIds: [],
      emitResubmissions: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['1700000000', { mode: 'time', at: 1_700_000_000 }],
    ['2026-11-01T00:00:00+08:00', { mode: 'time', at: 1_793_462_400 }],
    ['NOW', { mode: 'now' }],
  ])('reads START_FROM=%s', (value, expected) => {
    expect(loadConfig(validEnv({ START_FROM: value })).startFrom).toEqual(expected);
  });

  it('uses the probe findings for every polling mode unless a mode is set off', () => {
    const auto = loadConfig(validEnv());
    const off = loadConfig(
      validEnv({
        WEIBAN_LARGER_PAGES: 'off',
        WEIBAN_TRUST_TIME_FILTER: 'off',
        WEIBAN_CORP_WIDE_LISTING: ' ',
      }),
    );

    expect(auto).toMatchObject({
      largerPages: 'auto',
      trustTimeFilter: 'auto',
      corpWideListing: 'auto',
    });
    expect(off).toMatchObject({
      largerPages: 'off',
      trustTimeFilter: 'off',
      corpWideListing: 'auto',
    });
  });

  it('takes the secret from SSM when only WEIBAN_SECRET_PARAM is set', () => {
    const config = loadConfig(
      validEnv({ WEIBAN_SECRET: undefined, WEIBAN_SECRET_PARAM: '/weiban/secret' }),
    );

    expect(config.secret).toEqual({ kind: 'ssm', name: '/weiban/secret' });
  });

  it('takes no FORM_IDS as an empty seed: the form list in the table says what to poll', () => {
    expect(loadConfig(validEnv({ FORM_IDS: undefined })).formIds).toEqual([]);
  });

  it('dedupes form ids and ignores blanks in FORM_IDS', () => {
    expect(loadConfig(validEnv({ FORM_IDS: ' 842, ,901,842 ' })).formIds).toEqual([842, 901]);
  });

  it.each([
    ['WEIBAN_CORP_ID', { WEIBAN_CORP_ID: undefined }, /WEIBAN_CORP_ID is required/],
    ['WEIBAN_CORP_ID', { WEIBAN_CORP_ID: '   ' }, /WEIBAN_CORP_ID is required/],
    [
      'WEIBAN_SECRET_PARAM',
      { WEIBAN_SECRET: undefined },
      /WEIBAN_SECRET_PARAM or WEIBAN_SECRET is required/,
    ],
    ['FORM_IDS', { FORM_IDS: '842,abc' }, /FORM_IDS must be comma-separated form ids.*"abc"/],
    ['TABLE_NAME', { TABLE_NAME: '' }, /TABLE_NAME is required/],
    ['TOPIC_ARN', { TOPIC_ARN: undefined }, /TOPIC_ARN is required/],
    ['TOPIC_ARN', { TOPIC_ARN: 'my-topic' }, /TOPIC_ARN must be an SNS topic ARN/],
    [
      'WEIBAN_BASE_URL',
      { WEIBAN_BASE_URL: 'ftp://example.com' },
      /WEIBAN_BASE_URL must be an http\(s\) URL/,
    ],
    [
      'START_FROM',
      { START_FROM: 'yesterday' },
      /START_FROM must be "now", unix seconds, or an ISO-8601 date/,
    ],
    [
      'LOOKBACK_SECONDS',
      { LOOKBACK_SECONDS: '-5' },
      /LOOKBACK_SECONDS must be a whole number between 60 and 86400/,
    ],
    [
      'LOOKBACK_SECONDS',
      { LOOKBACK_SECONDS: '0' },
      /LOOKBACK_SECONDS must be a whole number between 60 and 86400: a shorter lookback misses a submission that shows up in Weiban a little late/,
    ],
    ['PAGE_SIZE', { PAGE_SIZE: '0' }, /PAGE_SIZE must be a whole number between 1 and 1000/],
    ['PAGE_SIZE', { PAGE_SIZE: '12.5' }, /PAGE_SIZE must be a whole number/],
    [
      'WEIBAN_MAX_IN_FLIGHT',
      { WEIBAN_MAX_IN_FLIGHT: '5' },
      /WEIBAN_MAX_IN_FLIGHT must be a whole number between 1 and 4/,
    ],
    [
      'WEIBAN_MAX_PER_MINUTE',
      { WEIBAN_MAX_PER_MINUTE: '600' },
      /WEIBAN_MAX_PER_MINUTE must be a whole number between 1 and 550: Weiban blocks the corp above 600 a minute; 550 leaves room .* an hour at 550 a minute \(33000\) stays under Weiban's 36,000/,
    ],
    [
      'WEIBAN_MAX_PER_HOUR',
      { WEIBAN_MAX_PER_HOUR: '36000' },
      /WEIBAN_MAX_PER_HOUR must be a whole number between 1 and 34000: Weiban blocks the corp for 60 minutes/,
    ],
    ['RETENTION_DAYS', { RETENTION_DAYS: 'forever' }, /RETENTION_DAYS must be a whole number/],
    [
      'ANSWER_FORM_IDS',
      { ANSWER_FORM_IDS: '842,x' },
      /ANSWER_FORM_IDS must be "\*" or comma-separated/,
    ],
    [
      'EMIT_RESUBMISSIONS',
      { EMIT_RESUBMISSIONS: 'yes' },
      /EMIT_RESUBMISSIONS must be "true" or "false"/,
    ],
    [
      'WEIBAN_LARGER_PAGES',
      { WEIBAN_LARGER_PAGES: 'on' },
      /WEIBAN_LARGER_PAGES must be "auto" \(use what weiban-forms probe learned\) or "off"/,
    ],
    ['WEIBAN_TRUST_TIME_FILTER', { WEIBAN_TRUST_TIME_FILTER: 'no' }, /must be "auto"/],
    ['WEIBAN_CORP_WIDE_LISTING', { WEIBAN_CORP_WIDE_LISTING: 'true' }, /must be "auto"/],
  ])('names %s when it is missing or invalid', (variable, overrides, message) => {
    const load = () => loadConfig(validEnv(overrides));

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
    expect(() => load()).toThrow(expect.objectContaining({ variable }));
  });

  it('never echoes the secret in a config error', () => {
    const load = () => loadConfig(validEnv({ WEIBAN_SECRET: 'do-not-print-me', PAGE_SIZE: 'x' }));

    expect(load).toThrow(ConfigError);
    expect(() => load()).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('do-not-print-me') }),
    );
  });
});

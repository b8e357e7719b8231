import { describe, expect, it } from 'vitest';
import { ConfigError, loadDeliverConfig } from '../../../lib/config.js';

const queueArn = (name: string) => `arn:aws:sqs:ap-northeast-1:123456789012:forms-${name}`;
const dlqUrl = 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/forms-dlq';
const crm = {
  name: 'crm',
  format: 'standard',
  url: 'https://crm.example.com/hooks/weiban',
  secretParam: '/forms/crm/secret',
  ratePerMinute: 120,
  queueArn: queueArn('crm'),
  dlqUrl,
};
const sales = {
  name: 'sales',
  format: 'wecom',
  urlParam: '/forms/sales/url',
  ratePerMinute: 20,
  queueArn: queueArn('sales'),
  dlqUrl,
};

const load = (webhooks: unknown, more: Record<string, string> = {}) =>
  loadDeliverConfig({ TABLE_NAME: 'forms', WEBHOOKS: JSON.stringify(webhooks), ...more });

/** The cold-start error for an environment, as the operator reads it. */
function failure(webhooks: unknown, more: Record<string, string> = {}): ConfigError {
  try {
    load(webhooks, more);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('the deliver function configuration', () => {
  it('reads each endpoint with its rate, queue and where its URL and secret live', () => {
    const config = load([
      crm,
      sales,
      {
        ...sales,
        name: 'feishu',
        format: 'feishu',
        ratePerMinute: undefined,
        queueArn: queueArn('f'),
      },
    ]);

    expect(config.tableName).toBe('forms');
    expect(config.allowLoopback).toBe(false);
    expect(config.webhooks).toEqual([
      crm,
      sales,
      expect.objectContaining({ name: 'feishu', ratePerMinute: 100, ratePerSecond: 5 }),
    ]);
  });

  it('has no endpoints when WEBHOOKS is unset', () => {
    expect(loadDeliverConfig({ TABLE_NAME: 'forms' }).webhooks).toEqual([]);
  });

  it.each([
    [
      'a bad name',
      [{ ...crm, name: 'crm-1' }],
      'WEBHOOKS #1 (crm-1) name must be 1-40 letters or digits',
    ],
    ['an unknown format', [{ ...crm, format: 'slack' }], 'WEBHOOKS #1 (crm) format must be one of'],
    [
      'both url and urlParam',
      [{ ...crm, urlParam: '/x' }],
      'WEBHOOKS #1 (crm) url or urlParam is required, and only one',
    ],
    [
      'neither url nor urlParam',
      [{ ...sales, urlParam: undefined }],
      'WEBHOOKS #1 (sales) url or urlParam is required',
    ],
    [
      'an http URL',
      [{ ...crm, url: 'http://crm.example.com/h' }],
      'WEBHOOKS #1 (crm) url must be an https:// URL',
    ],
    [
      'a URL with a query',
      [{ ...crm, url: 'https://crm.example.com/h?token=1' }],
      'WEBHOOKS #1 (crm) url must not carry a query string',
    ],
    [
      'a URL with userinfo',
      [{ ...crm, url: 'https://u:p@crm.example.com/h' }],
      'WEBHOOKS #1 (crm) url must not carry user:password@',
    ],
    [
      'a robot URL in url',
      [{ ...sales, urlParam: undefined, url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send' }],
      'WEBHOOKS #1 (sales) url cannot hold a robot URL',
    ],
    [
      'a standard endpoint without a secret',
      [{ ...crm, secretParam: undefined }],
      'WEBHOOKS #1 (crm) secretParam is required',
    ],
    [
      'a WeCom secret',
      [{ ...sales, secretParam: '/s' }],
      'WEBHOOKS #1 (sales) secretParam is not allowed',
    ],
    [
      'a robot rate above its limit',
      [{ ...sales, ratePerMinute: 30 }],
      'WEBHOOKS #1 (sales) ratePerMinute must not exceed 20',
    ],
    [
      'a rate of zero',
      [{ ...crm, ratePerMinute: 0 }],
      'WEBHOOKS #1 (crm) ratePerMinute must be a whole number',
    ],
    [
      'a repeated name',
      [crm, { ...crm, queueArn: queueArn('x') }],
      'WEBHOOKS #2 (crm) name is used by an earlier entry',
    ],
    [
      'a bad queue ARN',
      [{ ...crm, queueArn: 'forms-crm' }],
      'WEBHOOKS #1 (crm) queueArn must be an SQS queue ARN',
    ],
    ['an unknown field', [{ ...crm, retries: 3 }], 'WEBHOOKS #1 (crm)'],
  ])(
    'fails at cold start on %s, naming the variable, the entry and the field',
    (_what, webhooks, message) => {
      const error = failure(webhooks);
      expect(error.variable).toBe('WEBHOOKS');
      expect(error.message).toContain(message);
    },
  );

  it('fails at cold start when WEBHOOKS is not a JSON list', () => {
    expect(() => loadDeliverConfig({ TABLE_NAME: 'forms', WEBHOOKS: '[{' })).toThrow(
      /^WEBHOOKS must be a JSON list of endpoints$/,
    );
    expect(failure({ name: 'crm' }).message).toBe('WEBHOOKS must be a JSON list of endpoints');
  });

  it('allows plain http to loopback only with WEBHOOK_ALLOW_LOOPBACK', () => {
    const local = [{ ...crm, url: 'http://127.0.0.1:8080/hook' }];

    expect(failure(local).message).toContain('url must be an https:// URL');
    expect(load(local, { WEBHOOK_ALLOW_LOOPBACK: 'true' }).allowLoopback).toBe(true);
    expect(
      failure([{ ...crm, url: 'http://10.0.0.8/hook' }], { WEBHOOK_ALLOW_LOOPBACK: 'true' })
        .message,
    ).toContain('plain http only to a loopback host');
    expect(failure(local, { WEBHOOK_ALLOW_LOOPBACK: 'yes' }).variable).toBe(
      'WEBHOOK_ALLOW_LOOPBACK',
    );
  });

  it('requires TABLE_NAME', () => {
    expect(() => loadDeliverConfig({ WEBHOOKS: '[]' })).toThrow(/^TABLE_NAME is required/);
  });
});

import { describe, expect, it } from 'vitest';
import { classify } from '../../../lib/webhooks/classify.js';
import type { HttpResult } from '../../../lib/webhooks/http.js';
import { DIALECTS } from '../../../lib/webhooks/robots/compose.js';

const nowMs = Date.UTC(2026, 8, 1, 2, 23);
const answer = (status: number, body = '', more: Partial<HttpResult> = {}): HttpResult =>
  ({
    kind: 'answer',
    status,
    body: Buffer.from(body),
    latencyMs: 12,
    ...more,
  }) as HttpResult;

describe('what an attempt came to', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [301, 'permanent'],
    [400, 'permanent'],
    [401, 'permanent'],
    [404, 'permanent'],
    [410, 'permanent'],
  ] as const)('a standard endpoint answering %i is %s', (status, kind) => {
    expect(classify(answer(status), { nowMs }).kind).toBe(kind);
  });

  it.each([
    ['timeout', 'retry'],
    ['network', 'retry'],
    ['refused', 'permanent'],
  ] as const)('a %s failure is %s', (failure, kind) => {
    const result: HttpResult = { kind: 'failure', failure, detail: 'x', latencyMs: 1 };
    expect(classify(result, { nowMs }).kind).toBe(kind);
  });

  it('names only the host of a redirect, never its path or query', () => {
    const outcome = classify(
      answer(302, '', {
        location: 'https://evil.example:8443/steal?key=abc',
      }),
      { nowMs },
    );
    expect(outcome).toMatchObject({ kind: 'permanent', status: '302' });
    expect(outcome.kind === 'permanent' && outcome.reason).toContain('evil.example:8443');
    expect(JSON.stringify(outcome)).not.toContain('key=abc');
  });

  it.each([
    ['seconds', '120', 120_000],
    ['an HTTP date', new Date(nowMs + 90_000).toUTCString(), 90_000],
  ])('honours Retry-After given in %s', (_how, retryAfter, ms) => {
    expect(classify(answer(429, '', { retryAfter }), { nowMs })).toMatchObject({
      kind: 'retry',
      retryAfterMs: ms,
    });
  });

  it.each([
    ['wecom', '{"errcode":0,"errmsg":"ok"}', 'delivered', undefined],
    ['wecom', '{"errcode":45009,"errmsg":"api freq out of limit"}', 'retry', 60_000],
    ['wecom', '{"errcode":93000,"errmsg":"invalid webhook url"}', 'permanent', undefined],
    ['wecom', '{"errcode":-1,"errmsg":"system busy"}', 'retry', undefined],
    ['feishu', '{"StatusCode":0,"StatusMessage":"success"}', 'delivered', undefined],
    ['feishu', '{"code":0,"msg":"success","data":{}}', 'delivered', undefined],
    ['feishu', '{"code":11232,"msg":"frequency limited"}', 'retry', 60_000],
    [
      'feishu',
      '{"code":19001,"msg":"param invalid: incoming webhook access token invalid"}',
      'permanent',
      undefined,
    ],
    ['feishu', '{"code":19021,"msg":"sign match fail"}', 'permanent', undefined],
    ['feishu', '{"code":19024,"msg":"Key Words Not Found"}', 'permanent', undefined],
    ['dingtalk', '{"errcode":0,"errmsg":"ok"}', 'delivered', undefined],
    ['dingtalk', '{"errcode":410100,"errmsg":"send too fast"}', 'retry', 600_000],
    ['dingtalk', '{"errcode":300001,"errmsg":"token is not exist"}', 'permanent', undefined],
    ['dingtalk', '{"errcode":310000,"errmsg":"sign not match"}', 'permanent', undefined],
    ['dingtalk', '<html>busy</html>', 'retry', undefined],
  ] as const)('a %s robot answering HTTP 200 %s is %s', (format, body, kind, pauseMs) => {
    const outcome = classify(answer(200, body), { dialect: DIALECTS[format], nowMs });
    expect(outcome.kind).toBe(kind);
    expect(outcome.kind === 'retry' ? outcome.pauseMs : undefined).toBe(pauseMs);
  });

  it('takes a robot HTTP error by its status, whatever the body', () => {
    expect(classify(answer(502, '{"errcode":0}'), { dialect: DIALECTS.wecom, nowMs }).kind).toBe(
      'retry',
    );
    expect(classify(answer(404, ''), { dialect: DIALECTS.feishu, nowMs }).kind).toBe('permanent');
  });
});

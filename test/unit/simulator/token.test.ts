import { describe, expect, it } from 'vitest';

import { VirtualClock } from '../../../dev/virtual-clock.js';
import {
  LIST_PATH,
  TOKEN_PATH,
  errorOf,
  issueToken,
  listPage,
  request,
  simulators,
} from './support.js';

describe('the simulated access token endpoint', () => {
  const started = simulators();

  it('issues a token with the configured lifetime for the right corp and secret', async () => {
    // Prepare
    const server = await started({ corpId: 'corp-1', secret: 's3cret', tokenTtlSeconds: 3600 });

    // Act
    const answer = await issueToken(server, { corp_id: 'corp-1', secret: 's3cret' });

    // Assess
    expect(answer.expires_in).toBe(3600);
    expect(answer.access_token.length).toBeGreaterThanOrEqual(32);
  });

  it('issues a different token on every call', async () => {
    // Prepare
    const server = await started();

    // Act
    const first = await issueToken(server);
    const second = await issueToken(server);

    // Assess
    expect(first.access_token).not.toBe(second.access_token);
  });

  it.each([
    ['a wrong secret', { corp_id: 'sim-corp', secret: 'nope' }],
    ['a wrong corp', { corp_id: 'other', secret: 'sim-secret' }],
    ['no credentials', {}],
  ])('refuses %s with errcode 10003', async (_label, body) => {
    // Prepare
    const server = await started();

    // Act
    const reply = await request(server, TOKEN_PATH, {}, body);

    // Assess
    expect(reply.status).toBe(200);
    expect(errorOf(reply).errcode).toBe(10003);
  });

  it('accepts a token until its lifetime ends on the injected clock', async () => {
    // Prepare
    const clock = new VirtualClock();
    const server = await started({ clock, tokenTtlSeconds: 7200 });
    server.addForm(842);
    const { access_token } = await issueToken(server);

    // Act
    clock.advance(7_199_000);
    const beforeExpiry = await request(server, LIST_PATH, {
      access_token,
      form_id: 842,
      status: 'submit',
    });
    clock.advance(1_000);
    const afterExpiry = await request(server, LIST_PATH, {
      access_token,
      form_id: 842,
      status: 'submit',
    });

    // Assess
    expect(errorOf(beforeExpiry).errcode).toBe(0);
    expect(errorOf(afterExpiry)).toEqual({
      errcode: 10001,
      errmsg: '认证错误: 请提供正确的access_token',
    });
  });

  it('rejects every issued token after revokeTokens, and a fresh one works again', async () => {
    // Prepare
    const server = await started();
    server.addForm(842);
    const old = await issueToken(server);

    // Act
    server.revokeTokens();
    const withOld = await request(server, LIST_PATH, {
      access_token: old.access_token,
      form_id: 842,
      status: 'submit',
    });
    const fresh = await issueToken(server);
    const withFresh = await listPage(server, fresh.access_token, { form_id: 842 });

    // Assess
    expect(errorOf(withOld).errcode).toBe(10001);
    expect(withFresh.total).toBe(0);
  });

  it('refuses the old secret after rotateSecret and issues tokens for the new one, keeping earlier tokens', async () => {
    // Prepare
    const server = await started({ secret: 'first-secret' });
    server.addForm(842);
    const before = await issueToken(server, { corp_id: 'sim-corp', secret: 'first-secret' });

    // Act
    server.rotateSecret('second-secret');
    const withOld = await request(
      server,
      TOKEN_PATH,
      {},
      { corp_id: 'sim-corp', secret: 'first-secret' },
    );
    const withNew = await issueToken(server, { corp_id: 'sim-corp', secret: 'second-secret' });
    const earlierToken = await listPage(server, before.access_token, { form_id: 842 });

    // Assess
    expect(errorOf(withOld).errcode).toBe(10003);
    expect(withNew.access_token).not.toBe(before.access_token);
    expect(earlierToken.total).toBe(0);
  });

  it.each([
    ['a missing token', undefined],
    ['an unknown token', 'forged-token'],
  ])('answers 10001 to %s', async (_label, token) => {
    // Prepare
    const server = await started();

    // Act
    const reply = await request(server, LIST_PATH, {
      access_token: token,
      form_id: 842,
      status: 'submit',
    });

    // Assess
    expect(errorOf(reply).errcode).toBe(10001);
    expect(server.stats().errors['10001']).toBe(1);
  });
});

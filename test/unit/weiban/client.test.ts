import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import { ENDPOINT, tokenFetcher, WeibanClient } from '../../../lib/weiban/client.js';
import { TokenExpiredError, WeibanApiError } from '../../../lib/weiban/errors.js';
import { WeibanLimiter } from '../../../lib/weiban/limiter.js';
import { TokenProvider } from '../../../lib/weiban/token.js';
import { WeibanTransport } from '../../../lib/weiban/transport.js';
import { listBody, submitter } from '../../fixtures/weiban.js';
import { errcode, json, scriptedFetch, type Answer } from '../../support/fake-fetch.js';
import { MemoryTokenStore } from '../../support/memory-token-store.js';

const SECRET = 'corp-secret-value';
const query = { formId: 842, startTime: 1_000, endTime: 2_000, offset: 0, limit: 100 };

function setup(route: (url: URL, tokenCalls: number) => Answer) {
  const clock = new VirtualClock({ scale: 1_000 });
  let tokenCalls = 0;
  const fake = scriptedFetch((url) => {
    if (url.pathname === '/open-api/access_token/get') {
      tokenCalls += 1;
      return json({
        errcode: 0,
        errmsg: 'ok',
        access_token: `token-${tokenCalls}`,
        expires_in: 7200,
      });
    }
    return route(url, tokenCalls);
  });
  const limiter = new WeibanLimiter({ maxInFlight: 4, perMinute: 600, clock });
  const transport = new WeibanTransport({
    baseUrl: 'http://weiban.test',
    limiter,
    clock,
    requestTimeoutMs: 1_000,
    fetch: fake.fetch,
  });
  const tokens = new TokenProvider({
    store: new MemoryTokenStore(),
    fetchToken: tokenFetcher(transport, 'corp-1', {
      get: () => Promise.resolve(SECRET),
      reread: () => Promise.resolve(SECRET),
    }),
    clock,
    owner: 'test',
    fallbackTtlSeconds: 7200,
  });
  return {
    client: new WeibanClient({ transport, tokens }),
    fake,
    limiter,
    tokenCalls: () => tokenCalls,
  };
}

const tokensUsed = (urls: URL[]) =>
  urls
    .filter((url) => url.pathname.endsWith('/form/user/list'))
    .map((url) => url.searchParams.get('access_token'));

describe('WeibanClient', () => {
  it('asks for one page of submitters with every documented parameter', async () => {
    const { client, fake } = setup(() => ({ body: listBody([submitter()], 1) }));

    const page = await client.listSubmitters(query);

    expect(page).toEqual({ errcode: 0, errmsg: 'ok', total: 1, result: [submitter()] });
    const list = fake.urls.find((url) => url.pathname === '/open-api/smart_form/form/user/list');
    expect(Object.fromEntries(list?.searchParams ?? [])).toEqual({
      access_token: 'token-1',
      form_id: '842',
      status: 'submit',
      start_time: '1000',
      end_time: '2000',
      limit: '100',
      offset: '0',
    });
    expect(JSON.parse(fake.bodies[0] ?? '{}')).toEqual({ corp_id: 'corp-1', secret: SECRET });
  });

  it('on 10001 fetches a new token once and retries the call once (G5)', async () => {
    const { client, fake, tokenCalls } = setup((url) =>
      url.searchParams.get('access_token') === 'token-1'
        ? errcode(10001, '认证错误: 请提供正确的access_token')
        : { body: listBody([], 0) },
    );

    await expect(client.listSubmitters(query)).resolves.toMatchObject({ total: 0 });
    expect(tokenCalls()).toBe(2);
    expect(tokensUsed(fake.urls)).toEqual(['token-1', 'token-2']);
  });

  it('gives up with TokenExpiredError when the fresh token is refused too', async () => {
    const { client, fake, tokenCalls } = setup(() => errcode(10001));

    await expect(client.listSubmitters(query)).rejects.toBeInstanceOf(TokenExpiredError);
    expect(tokenCalls()).toBe(2);
    expect(tokensUsed(fake.urls)).toHaveLength(2);
  });

  it('leaves out form_id and the time window when a listing asks without them', async () => {
    const { client, fake } = setup(() => ({ body: listBody([submitter()], 1) }));

    await client.listPage({ offset: 10, limit: 50 });

    const list = fake.urls.find((url) => url.pathname === '/open-api/smart_form/form/user/list');
    expect(Object.fromEntries(list?.searchParams ?? [])).toEqual({
      access_token: 'token-1',
      status: 'submit',
      limit: '50',
      offset: '10',
    });
  });

  it('lists with the given token and neither refreshes nor retries when it is refused', async () => {
    const { client, fake, tokenCalls } = setup((url) =>
      url.searchParams.get('access_token') === 'old-token'
        ? errcode(10001, '认证错误: 请提供正确的access_token')
        : { body: listBody([], 0) },
    );

    await expect(
      client.listPageWithToken('old-token', { formId: 842, offset: 0, limit: 10 }),
    ).rejects.toBeInstanceOf(TokenExpiredError);
    expect(tokenCalls()).toBe(0);
    expect(tokensUsed(fake.urls)).toEqual(['old-token']);
  });

  it('counts token calls against their own endpoint budget', async () => {
    const { client, limiter } = setup(() => ({ body: listBody([], 0) }));

    await client.listSubmitters(query);

    expect(limiter.stats().calls).toEqual({ [ENDPOINT.token]: 1, [ENDPOINT.submitters]: 1 });
  });

  it("reads a submitter's answers from submit/list", async () => {
    const submission = {
      id: 5,
      deleted: false,
      form_id: 842,
      scr_id: 768,
      time_spent: 30,
      user_city: '上海市',
      submit_at: 1_700_000_000,
      component_value_list: [
        {
          relation_id: 1,
          component_id: 9,
          component_type: 'radio',
          title: '来源',
          value: '朋友',
          values: ['朋友'],
        },
      ],
    };
    const { client, fake } = setup(() =>
      json({ errcode: 0, errmsg: 'ok', total: 1, result: [submission] }),
    );

    await expect(client.listSubmissions(842, 768)).resolves.toEqual([submission]);
    const call = fake.urls.find((url) => url.pathname.endsWith('/submit/list'));
    expect(call?.searchParams.get('u_id')).toBe('768');
  });

  it('surfaces an unknown errcode as a WeibanApiError, never as an empty result', async () => {
    const { client } = setup(() => errcode(40001, 'no seat'));

    await expect(client.listSubmitters(query)).rejects.toMatchObject({ errcode: 40001 });
    await expect(client.listSubmitters(query)).rejects.toBeInstanceOf(WeibanApiError);
  });
});

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { formEventSchema } from '../../lib/events.js';
import { eventIds, World } from '../support/world.js';

const FORM = 842;
const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 };

interface Row {
  [field: string]: unknown;
}

/** A row as Weiban documents it, `submit_at` seconds before `nowS`. */
const row = (nowS: number, uId: number, overrides: Row = {}): Row => ({
  u_id: uId,
  form_id: FORM,
  form_name: '报名表',
  status: 'submit',
  submit_at: nowS - 100 - uId,
  external_user_id: `wm-${uId}`,
  unionid: `un-${uId}`,
  user_name: `用户${uId}`,
  user_city: '上海市',
  avatar: 'https://thirdwx.qlogo.cn/a.png',
  ...overrides,
});

const page = (
  result: unknown,
  total: unknown = Array.isArray(result) ? result.length : 0,
  extra: Row = {},
) => JSON.stringify({ errcode: 0, errmsg: 'ok', total, result, ...extra });

/**
 * The first `form/user/list` answer of the run is `body` (repeated for retries); Weiban's
 * real data behind it holds 3 good submitters.
 */
interface Contained {
  readonly name: string;
  readonly body: (nowS: number) => string;
  readonly status?: number;
  /** The error the form's run stops with, and what the log line must name. */
  readonly error: RegExp;
  readonly errcode?: number;
}

interface Processed {
  readonly name: string;
  readonly body: (nowS: number) => string;
  /** u_ids published from the hostile page, and why that is right. */
  readonly published: readonly number[];
  readonly check?: (events: ReturnType<typeof formEventSchema.parse>[], world: World) => void;
}

const contained: Contained[] = [
  {
    name: 'a missing result',
    body: () => JSON.stringify({ errcode: 0, errmsg: 'ok', total: 1 }),
    error: /result/,
  },
  { name: 'a null result', body: () => page(null, 1), error: /result/ },
  { name: 'a result that is an object', body: (n) => page({ 0: row(n, 1) }, 1), error: /result/ },
  { name: 'a result that is a string', body: () => page('[]', 0), error: /result/ },
  {
    name: 'a missing total',
    body: (n) => JSON.stringify({ errcode: 0, errmsg: 'ok', result: [row(n, 1)] }),
    error: /total/,
  },
  { name: 'a negative total', body: (n) => page([row(n, 1)], -1), error: /total/ },
  { name: 'a total sent as a string', body: (n) => page([row(n, 1)], '1'), error: /total/ },
  { name: 'a fractional total', body: (n) => page([row(n, 1)], 2.5), error: /total/ },
  {
    name: 'a row without u_id',
    body: (n) => page([row(n, 1), { ...row(n, 2), u_id: undefined }]),
    error: /u_id/,
  },
  {
    name: 'a u_id sent as a string',
    body: (n) => page([row(n, 1, { u_id: '768' })]),
    error: /u_id/,
  },
  { name: 'a negative u_id', body: (n) => page([row(n, 1, { u_id: -768 })]), error: /u_id/ },
  { name: 'a fractional u_id', body: (n) => page([row(n, 1, { u_id: 7.5 })]), error: /u_id/ },
  { name: 'a u_id of 0', body: (n) => page([row(n, 1, { u_id: 0 })]), error: /u_id/ },
  { name: 'a u_id beyond 2^53', body: (n) => page([row(n, 1, { u_id: 2 ** 60 })]), error: /u_id/ },
  {
    name: 'a submit_at sent as a string',
    body: (n) => page([row(n, 1, { submit_at: String(n) })]),
    error: /submit_at/,
  },
  {
    name: 'a negative submit_at',
    body: (n) => page([row(n, 1, { submit_at: -5 })]),
    error: /submit_at/,
  },
  {
    name: 'a row without submit_at',
    body: (n) => page([{ ...row(n, 1), submit_at: undefined }]),
    error: /submit_at/,
  },
  {
    name: 'a row without status',
    body: (n) => page([{ ...row(n, 1), status: undefined }]),
    error: /status/,
  },
  {
    name: 'a form_id sent as a string',
    body: (n) => page([row(n, 1, { form_id: '842' })]),
    error: /form_id/,
  },
  {
    name: 'a user_name sent as a number',
    body: (n) => page([row(n, 1, { user_name: 42 })]),
    error: /user_name/,
  },
  {
    name: 'a row without external_user_id',
    body: (n) => page([{ ...row(n, 1), external_user_id: undefined }]),
    error: /external_user_id/,
  },
  { name: 'a null row', body: (n) => page([row(n, 1), null]), error: /result\.1/ },
  { name: 'a row that is an array', body: (n) => page([[row(n, 1)]]), error: /result\.0/ },
  { name: 'an empty body', body: () => '', error: /not JSON/ },
  {
    name: 'an HTML page with status 200',
    body: () => '<html><body>维护中</body></html>',
    error: /not JSON/,
  },
  {
    name: 'an HTML 502 from a proxy',
    body: () => '<html><body>502 Bad Gateway</body></html>',
    status: 502,
    error: /HTTP 502/,
  },
  { name: 'truncated JSON', body: (n) => page([row(n, 1)]).slice(0, 40), error: /not JSON/ },
  { name: 'the JSON literal null', body: () => 'null', error: /unexpected shape/ },
  { name: 'a JSON array', body: () => '[]', error: /unexpected shape/ },
  {
    name: 'a missing errcode',
    body: (n) => JSON.stringify({ errmsg: 'ok', total: 1, result: [row(n, 1)] }),
    error: /errcode/,
  },
  {
    name: 'an errcode sent as a string',
    body: (n) => JSON.stringify({ errcode: '0', errmsg: 'ok', total: 1, result: [row(n, 1)] }),
    error: /errcode/,
  },
  {
    name: 'an unknown errcode with status 200',
    body: () => JSON.stringify({ errcode: 99999, errmsg: '未知错误' }),
    error: /errcode 99999: 未知错误/,
    errcode: 99999,
  },
  {
    name: '21901, parameter validation failed',
    body: () => JSON.stringify({ errcode: 21901, errmsg: '自定义表单参数校验失败' }),
    error: /errcode 21901/,
    errcode: 21901,
  },
  {
    name: '21902 that persists past the retries',
    body: () => JSON.stringify({ errcode: 21902, errmsg: '自定义表单数据查询失败' }),
    error: /errcode 21902/,
    errcode: 21902,
  },
];

const processed: Processed[] = [
  {
    name: 'a submit_at in the future: deferred to the window that reaches it',
    body: (n) => page([row(n, 1), row(n, 2, { submit_at: n + 86_400 })]),
    published: [1],
  },
  {
    name: 'a submit_at of 0: before the form began, so never published (G7)',
    body: (n) => page([row(n, 1), row(n, 2, { submit_at: 0 })]),
    published: [1],
  },
  {
    name: 'a total smaller than the rows returned: the rows are trusted, not the total',
    body: (n) => page([row(n, 1), row(n, 2), row(n, 3)], 1),
    published: [1, 2, 3],
  },
  {
    name: 'the same u_id twice in one page: published once',
    body: (n) => page([row(n, 1), row(n, 1), row(n, 2)]),
    published: [1, 2],
  },
  {
    name: 'a 64 KB user_name: published whole, well under 256 KiB',
    body: (n) => page([row(n, 1, { user_name: '名'.repeat(21_846) })]),
    published: [1],
    check: ([event]) => {
      expect(event?.data.user_name).toHaveLength(21_846);
      expect(event?.truncated).toBeUndefined();
    },
  },
  {
    name: 'emoji and control characters in names: kept in the body, cleaned from the attribute',
    body: (n) => page([row(n, 1, { user_name: '😀\u0000Zoë\u202e', user_city: '上海市\u0007' })]),
    published: [1],
    check: ([event]) => {
      expect(event?.data).toMatchObject({
        user_name: '😀\u0000Zoë\u202e',
        user_city: '上海市\u0007',
      });
    },
  },
  {
    name: 'fields Weiban may add later: carried in data',
    body: (n) => page([row(n, 1, { channel: 'qr', tags: ['vip'] })]),
    published: [1],
    check: ([event]) => {
      expect(event?.data).toMatchObject({ channel: 'qr', tags: ['vip'] });
    },
  },
  {
    name: 'null optional fields: published, without a user_city attribute',
    body: (n) => page([row(n, 1, { user_city: null, user_name: null, avatar: null })]),
    published: [1],
  },
  {
    name: 'rows of another form: never published under this one',
    body: (n) => page([row(n, 1), row(n, 2, { form_id: 901 })]),
    published: [1],
  },
  {
    name: 'rows with another status: left out',
    body: (n) => page([row(n, 1), row(n, 2, { status: 'draft' })]),
    published: [1],
  },
];

describe('hostile Weiban answers', () => {
  let world: World;
  afterEach(async () => {
    await world.close();
  });

  /** A form backfilling the last hour; `goodRows` real submitters wait behind the hostile answer. */
  async function setUp(
    goodRows: number,
  ): Promise<{ nowS: number; origin: number; invoke: ReturnType<World['container']> }> {
    const origin = Math.floor(Date.now() / 1000) - 3_600;
    world = await World.create({ env: { START_FROM: String(origin) } });
    const nowS = Math.floor(world.clock.now() / 1000);
    world.simulator.submitMany(FORM, goodRows, (i) => ({ submit_at: nowS - 1_000 + i }));
    return { nowS, origin, invoke: world.container(fastRetry) };
  }

  const cursor = async () => {
    const out = await world.aws.doc.send(
      new GetCommand({ TableName: world.tableName, Key: { pk: `FORM#${FORM}`, sk: 'STATE' } }),
    );
    return Number(out.Item?.cursor);
  };

  it.each(contained)(
    'contains $name: a clear error, the cursor kept, nothing published',
    async (hostile) => {
      const { nowS, origin, invoke } = await setUp(3);
      world.simulator.fault({
        kind: 'body',
        body: hostile.body(nowS),
        status: hostile.status ?? 200,
        endpoint: 'list',
        times: 5,
      });

      const first = await invoke().catch((error: unknown) => error);

      expect(first).toMatchObject({
        name: 'PollFailedError',
        message: expect.stringMatching(hostile.error),
      });
      const logged = world.logs.find(
        (entry) => entry.message === 'form run failed; its cursor stays',
      );
      expect(logged?.extra[0]).toMatchObject({
        formId: FORM,
        offset: 0,
        error: {
          message: expect.stringMatching(hostile.error),
          ...(hostile.errcode !== undefined && { errcode: hostile.errcode }),
        },
      });
      expect(await cursor()).toBe(origin);
      expect(await world.received()).toEqual([]);

      world.simulator.clearFaults();
      await invoke();
      expect(eventIds(await world.received({ expected: 3 }))).toHaveLength(3);
    },
  );

  it.each(processed)('processes $name', async (hostile) => {
    const { nowS, invoke } = await setUp(0);
    world.simulator.fault({ kind: 'body', body: hostile.body(nowS), endpoint: 'list', times: 1 });

    const summary = await invoke();
    const events = (await world.received()).map((message) => formEventSchema.parse(message.body));

    expect(summary.forms[0]?.outcome).toBe('ok');
    expect(events.map((event) => event.data.u_id).sort()).toEqual([...hostile.published].sort());
    expect(await cursor()).toBeGreaterThanOrEqual(nowS);
    hostile.check?.(events, world);
  });
});

import { describe, expect, it } from 'vitest';

import type { WeibanSimulator } from '../../../dev/simulator/index.js';
import { VirtualClock } from '../../../dev/virtual-clock.js';
import {
  LIST_PATH,
  SUBMIT_LIST_PATH,
  TOKEN_PATH,
  errorOf,
  issueToken,
  listPage,
  request,
  simulators,
  type Reply,
} from './support.js';

const FORM = 842;

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('scripted simulator faults', () => {
  const started = simulators();

  async function ready(): Promise<{ sim: WeibanSimulator; token: string }> {
    const sim = await started();
    sim.submitMany(FORM, 3);
    const { access_token } = await issueToken(sim);
    return { sim, token: access_token };
  }

  const listOnce = (sim: WeibanSimulator, token: string, formId = FORM): Promise<Reply> =>
    request(sim, LIST_PATH, { access_token: token, form_id: formId, status: 'submit' });

  it.each([
    ['html502', 502, 'text/html', '502 Bad Gateway', '502'],
    ['html504', 504, 'text/html', '504 Gateway Time-out', '504'],
  ] as const)(
    'answers %s with an HTML gateway page and that status',
    async (kind, status, type, text, key) => {
      // Prepare
      const { sim, token } = await ready();
      sim.fault({ kind });

      // Act
      const reply = await listOnce(sim, token);

      // Assess
      expect(reply.status).toBe(status);
      expect(reply.contentType).toContain(type);
      expect(reply.text).toContain(text);
      expect(sim.stats().errors[key]).toBe(1);
    },
  );

  it.each([
    ['empty', (text: string) => text === ''],
    ['truncated', (text: string) => text.startsWith('{"errcode":0') && !parses(text)],
    ['nonjson', (text: string) => text.length > 0 && !parses(text)],
  ] as const)('answers %s with HTTP 200 and a body that is not JSON', async (kind, looksRight) => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault({ kind });

    // Act
    const reply = await listOnce(sim, token);

    // Assess
    expect(reply.status).toBe(200);
    expect(looksRight(reply.text)).toBe(true);
    expect(sim.stats().errors[kind]).toBe(1);
  });

  it.each([
    [21902, undefined, '自定义表单数据查询失败'],
    [21901, undefined, '自定义表单参数校验失败'],
    [99999, '系统繁忙', '系统繁忙'],
  ])('answers errcode %i inside HTTP 200 JSON', async (errcode, errmsg, expected) => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault(
      errmsg === undefined ? { kind: 'errcode', errcode } : { kind: 'errcode', errcode, errmsg },
    );

    // Act
    const reply = await listOnce(sim, token);

    // Assess
    expect(reply.status).toBe(200);
    expect(errorOf(reply)).toEqual({ errcode, errmsg: expected });
    expect(sim.stats().errors[String(errcode)]).toBe(1);
  });

  it('sends a raw body as given, for hostile-input tests', async () => {
    // Prepare
    const { sim, token } = await ready();
    const body = '{"errcode":0,"errmsg":"ok","total":1,"result":[{"u_id":"768"}]}';
    sim.fault({ kind: 'body', body });
    sim.fault({ kind: 'body', body: '{"errcode":0,"result":null}', status: 500 });

    // Act
    const first = await listOnce(sim, token);
    const second = await listOnce(sim, token);

    // Assess
    expect(first).toMatchObject({ status: 200, text: body });
    expect(second).toMatchObject({ status: 500, text: '{"errcode":0,"result":null}' });
    expect(sim.stats().errors).toEqual({ '500': 1 });
  });

  it('answers correctly after the delay of a slow fault', async () => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault({ kind: 'slow', delayMs: 200 });
    const startedAt = performance.now();

    // Act
    const page = await listPage(sim, token, { form_id: FORM });

    // Assess
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(190);
    expect(page.total).toBe(3);
  });

  it('fires a fault `times` times, then answers normally', async () => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault({ kind: 'html502', times: 2 });

    // Act
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await listOnce(sim, token)).status);

    // Assess
    expect(statuses).toEqual([502, 502, 200]);
    expect(sim.stats().requests.list).toBe(3);
  });

  it('fires only on the endpoint and form it names', async () => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault({ kind: 'errcode', errcode: 21902, endpoint: 'submissions' });
    sim.fault({ kind: 'errcode', errcode: 21902, formId: 901 });

    // Act
    const otherForm = await listOnce(sim, token, FORM);
    const namedForm = await listOnce(sim, token, 901);
    const namedEndpoint = await request(sim, SUBMIT_LIST_PATH, {
      access_token: token,
      form_id: FORM,
      u_id: 1,
    });

    // Assess
    expect(errorOf(otherForm).errcode).toBe(0);
    expect(errorOf(namedForm).errcode).toBe(21902);
    expect(errorOf(namedEndpoint).errcode).toBe(21902);
  });

  it('can fail the token endpoint', async () => {
    // Prepare
    const sim = await started();
    sim.fault({ kind: 'html504', endpoint: 'token' });

    // Act
    const reply = await request(sim, TOKEN_PATH, {}, { corp_id: 'sim-corp', secret: 'sim-secret' });
    const retried = await issueToken(sim);

    // Assess
    expect(reply.status).toBe(504);
    expect(retried.access_token).not.toBe('');
  });

  it('drops every pending fault on clearFaults', async () => {
    // Prepare
    const { sim, token } = await ready();
    sim.fault({ kind: 'html502', times: 5 });
    sim.fault({ kind: 'nonjson' });

    // Act
    sim.clearFaults();
    const reply = await listOnce(sim, token);

    // Assess
    expect(errorOf(reply).errcode).toBe(0);
  });

  it('leaves a fault pending while the limits reject requests, and fires it afterwards', async () => {
    // Prepare
    const clock = new VirtualClock();
    const sim = await started({ clock, perMinute: 1 });
    const { access_token } = await issueToken(sim);
    await listOnce(sim, access_token);
    sim.fault({ kind: 'errcode', errcode: 21902, endpoint: 'list' });

    // Act
    const limited = await listOnce(sim, access_token);
    clock.advance(60_000);
    const faulted = await listOnce(sim, access_token);

    // Assess
    expect(errorOf(limited).errcode).toBe(10053);
    expect(errorOf(faulted).errcode).toBe(21902);
  });
});

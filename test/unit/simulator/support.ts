import { afterEach } from 'vitest';
import { z } from 'zod';

import { WeibanSimulator, type SimulatorOptions } from '../../../dev/simulator/index.js';

export const LIST_PATH = '/open-api/smart_form/form/user/list';
export const SUBMIT_LIST_PATH = '/open-api/smart_form/form/user/submit/list';
export const GROUP_LIST_PATH = '/open-api/smart_form/group/list';
export const TOKEN_PATH = '/open-api/access_token/get';

const ErrorBody = z.looseObject({ errcode: z.number(), errmsg: z.string() });

const RowBody = z.strictObject({
  u_id: z.number(),
  form_id: z.number(),
  form_name: z.string(),
  status: z.string(),
  submit_at: z.number(),
  external_user_id: z.string(),
  unionid: z.string(),
  user_name: z.string(),
  user_city: z.string(),
  avatar: z.string(),
});

const ListBody = z.strictObject({
  errcode: z.literal(0),
  errmsg: z.literal('ok'),
  total: z.number(),
  result: z.array(RowBody),
});

const SubmissionBody = z.strictObject({
  id: z.number(),
  deleted: z.boolean(),
  form_id: z.number(),
  scr_id: z.number(),
  time_spent: z.number(),
  user_city: z.string(),
  submit_at: z.number(),
  component_value_list: z.array(
    z.strictObject({
      relation_id: z.number(),
      component_id: z.number(),
      component_type: z.string(),
      title: z.string(),
      value: z.string(),
      values: z.array(z.string()),
    }),
  ),
});

const SubmitListBody = z.strictObject({
  errcode: z.literal(0),
  errmsg: z.literal('ok'),
  total: z.number(),
  result: z.array(SubmissionBody),
});

const GroupListBody = z.strictObject({
  errcode: z.literal(0),
  errmsg: z.literal('ok'),
  total: z.number(),
  result: z.array(z.strictObject({ id: z.number(), name: z.string() })),
});

const TokenBody = z.strictObject({
  errcode: z.literal(0),
  errmsg: z.literal('ok'),
  access_token: z.string(),
  expires_in: z.number(),
});

export type ListAnswer = z.infer<typeof ListBody>;
export type Params = Record<string, string | number | undefined>;

/**
 * Registers an afterEach that stops every simulator the returned function started, so no
 * test leaves a server or socket open.
 */
export function simulators(): (options?: SimulatorOptions) => Promise<WeibanSimulator> {
  let running: WeibanSimulator[] = [];
  afterEach(async () => {
    await Promise.all(running.map((sim) => sim.stop()));
    running = [];
  });
  return async (options) => {
    const sim = new WeibanSimulator(options);
    running.push(sim);
    await sim.start();
    return sim;
  };
}

/** Resolves once `condition` holds, checking every 5 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw HTTP answer from the simulator. */
export interface Reply {
  status: number;
  contentType: string | null;
  text: string;
}

/** Sends one request with `params` in the query string, as Weiban expects even on POST. */
export async function request(
  sim: WeibanSimulator,
  path: string,
  params: Params = {},
  post?: unknown,
): Promise<Reply> {
  const url = new URL(path, sim.url);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const response = await fetch(
    url,
    post === undefined
      ? {}
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(post),
        },
  );
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text: await response.text(),
  };
}

/** The errcode and errmsg of a JSON answer; throws when the body is not one. */
export function errorOf(reply: Reply): { errcode: number; errmsg: string } {
  return ErrorBody.parse(JSON.parse(reply.text));
}

export async function issueToken(
  sim: WeibanSimulator,
  credentials: { corp_id: string; secret: string } = { corp_id: 'sim-corp', secret: 'sim-secret' },
): Promise<{ access_token: string; expires_in: number }> {
  const reply = await request(sim, TOKEN_PATH, {}, credentials);
  return TokenBody.parse(JSON.parse(reply.text));
}

/** Calls `form/user/list` with status=submit unless told otherwise, and expects success. */
export async function listPage(
  sim: WeibanSimulator,
  token: string,
  params: Params,
): Promise<ListAnswer> {
  const reply = await request(sim, LIST_PATH, { status: 'submit', ...params, access_token: token });
  return ListBody.parse(JSON.parse(reply.text));
}

export async function submitList(
  sim: WeibanSimulator,
  token: string,
  params: Params,
): Promise<z.infer<typeof SubmitListBody>> {
  const reply = await request(sim, SUBMIT_LIST_PATH, { ...params, access_token: token });
  return SubmitListBody.parse(JSON.parse(reply.text));
}

export async function groupList(
  sim: WeibanSimulator,
  token: string,
  params: Params = {},
): Promise<z.infer<typeof GroupListBody>> {
  const reply = await request(sim, GROUP_LIST_PATH, { ...params, access_token: token });
  return GroupListBody.parse(JSON.parse(reply.text));
}

/** The u_ids of a page, in the order served. */
export const uIds = (answer: ListAnswer): number[] => answer.result.map((row) => row.u_id);

/** Reads every page of a form with offset paging, the way a naive client would. */
export async function readAllPages(
  sim: WeibanSimulator,
  token: string,
  formId: number,
  limit: number,
): Promise<number[]> {
  const seen: number[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await listPage(sim, token, { form_id: formId, limit, offset });
    seen.push(...uIds(page));
    if (offset + limit >= page.total) return seen;
  }
}

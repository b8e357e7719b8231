import { z } from 'zod';
import type { Submission, Submitter, SubmitterPage } from '../model.js';

/** Every Weiban answer carries these (docs/weiban-api.md#conventions). */
export const envelopeSchema = z.looseObject({
  errcode: z.number().int(),
  errmsg: z.string().optional(),
});

/**
 * `POST /open-api/access_token/get`. `expires_in` is only seen in client code, so optional
 * (docs/weiban-api.md#token).
 */
export const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive().optional(),
});

const optionalText = z.string().nullish();

/**
 * One submitter of `form/user/list`. Unknown fields are kept: an event's `data` carries
 * everything Weiban returned (docs/guarantees.md#event).
 */
export const submitterSchema: z.ZodType<Submitter> = z.looseObject({
  u_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  form_id: z.number().int().positive(),
  status: z.string(),
  submit_at: z.number().int().nonnegative(),
  external_user_id: z.string(),
  unionid: z.string(),
  form_name: optionalText,
  user_name: optionalText,
  user_city: optionalText,
  avatar: optionalText,
});

export const submitterPageSchema: z.ZodType<SubmitterPage> = z.looseObject({
  total: z.number().int().nonnegative(),
  result: z.array(submitterSchema),
});

/** One answer inside a submission of `form/user/submit/list`. */
export const answerSchema = z.looseObject({
  relation_id: z.number().int().nullish(),
  component_id: z.number().int(),
  component_type: z.string(),
  title: z.string(),
  value: z.string().nullish(),
  values: z.array(z.string()).nullish(),
});

export const submissionSchema: z.ZodType<Submission> = z.looseObject({
  id: z.number().int(),
  deleted: z.boolean().nullish(),
  form_id: z.number().int(),
  scr_id: z.number().int().nullish(),
  time_spent: z.number().int().nullish(),
  user_city: z.string().nullish(),
  submit_at: z.number().int().nonnegative(),
  component_value_list: z.array(answerSchema),
});

export const submissionListSchema = z.looseObject({
  total: z.number().int().nonnegative().optional(),
  result: z.array(submissionSchema),
});

/** A compact, secret-free summary of why a body failed a schema, for logs and errors. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

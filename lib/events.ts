import { z } from 'zod';
import { toIso } from './clock.js';
import type { Submission, Submitter } from './model.js';
import type { OutgoingMessage } from './ports.js';

export const EVENT_TYPES = ['weiban.form.submitted', 'weiban.form.resubmitted'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const SCHEMA_VERSION = 1;

const isoInstant = z.iso.datetime({ offset: false });

// `meta({ id })` names a part of the contract: it becomes a `$defs` entry of the generated JSON
// Schema and an interface of the consumer types (scripts/generate-schema.ts).
const answerOut = z
  .object({
    component_id: z.number().int().describe('The form component (question) id.'),
    component_type: z.string().describe('Component kind as Weiban names it, e.g. "radio".'),
    title: z.string().describe('The question as shown on the form.'),
    value: z.string().nullable().describe('The answer as one string.'),
    values: z.array(z.string()).nullable().describe('The answer as a list (multi-choice).'),
  })
  .meta({ id: 'FormAnswer', description: 'One answer of a submission.' });

const submissionOut = z
  .object({
    id: z.number().int().describe('Weiban submission id.'),
    submit_at: z.number().int().nonnegative().describe('When it was submitted, unix seconds.'),
    time_spent: z.number().int().nullable().describe('Seconds spent filling the form.'),
    answers: z
      .array(answerOut)
      .describe('One entry per answered component, in the order Weiban lists them.'),
  })
  .meta({
    id: 'FormSubmission',
    description: 'One submission of the form by the submitter; a resubmission adds one.',
  });

/**
 * The `data` of an event: every field Weiban returned for the submitter (docs/guarantees.md#event).
 */
export const eventDataSchema = z
  .looseObject({
    form_id: z.number().int().positive().describe('The Weiban smart form.'),
    form_name: z.string().nullish().describe("The form's name when it was read."),
    u_id: z.number().int().positive().describe('Weiban form–customer relation id; the dedupe key.'),
    status: z.string().describe('Always "submit": only submitted forms are polled.'),
    submit_at: z
      .number()
      .int()
      .nonnegative()
      .describe('When the submitter last submitted, unix seconds.'),
    external_user_id: z.string().describe('The WeCom external contact id of the submitter.'),
    unionid: z.string().describe('The WeChat unionid of the submitter.'),
    user_name: z.string().nullish().describe("The submitter's WeChat name."),
    user_city: z
      .string()
      .nullish()
      .describe('The submitter\'s city as Weiban has it, e.g. "上海市".'),
    avatar: z.string().nullish().describe("URL of the submitter's avatar."),
    submissions: z
      .array(submissionOut)
      .optional()
      .describe(
        "The submitter's submissions with their answers, newest first; only for forms listed in ANSWER_FORM_IDS.",
      ),
  })
  .meta({
    id: 'FormEventData',
    description:
      'Every field Weiban returned for the submitter (fields Weiban adds later pass through), plus answers when enabled.',
  });

/** The envelope every consumer receives as the SNS message body (docs/guarantees.md#event). */
export const formEventSchema = z
  .object({
    id: z
      .string()
      .regex(/^weiban:[^:]+:\d+:\d+(:\d+)?$/)
      .describe(
        'Stable id: weiban:<corp_id>:<form_id>:<u_id>[:<submit_at> for resubmissions]. Dedupe on it.',
      ),
    type: z
      .enum(EVENT_TYPES)
      .describe(
        'weiban.form.submitted: a first submission. weiban.form.resubmitted (opt-in): a known submitter submitted again.',
      ),
    schema_version: z
      .literal(SCHEMA_VERSION)
      .describe('Changes only for a breaking change; new optional fields keep it.'),
    occurred_at: isoInstant.describe('When the submitter submitted (data.submit_at), UTC.'),
    detected_at: isoInstant.describe('When this service first saw the submission, UTC.'),
    truncated: z
      .literal(true)
      .optional()
      .describe(
        'Present when long fields or answers were cut to fit the 256 KiB SNS limit; who submitted (ids, submit_at) is never cut.',
      ),
    data: eventDataSchema,
  })
  .meta({
    title: 'FormEvent',
    description: 'A Weiban smart-form submission, as published to SNS.',
  });

export type FormEvent = z.infer<typeof formEventSchema>;
export type FormEventData = z.infer<typeof eventDataSchema>;

/** The event id consumers dedupe on (docs/guarantees.md#event-id). */
export function eventId(corpId: string, formId: number, uId: number, submitAt?: number): string {
  const base = `weiban:${corpId}:${formId}:${uId}`;
  return submitAt === undefined ? base : `${base}:${submitAt}`;
}

/** Builds the event for one submitter. Pure: the time of detection is passed in. */
export function buildEvent(input: {
  readonly corpId: string;
  readonly submitter: Submitter;
  readonly type: EventType;
  readonly detectedAtMs: number;
  readonly submissions?: readonly Submission[];
}): FormEvent {
  const { corpId, submitter, type, detectedAtMs, submissions } = input;
  const data: FormEventData = { ...submitter };
  if (submissions !== undefined) {
    // Weiban documents no order. Newest first: consumers want the latest, and cutting an event
    // down to size (toMessage) drops list entries from the end.
    data.submissions = [...submissions]
      .sort((a, b) => b.submit_at - a.submit_at || b.id - a.id)
      .map(toSubmissionOut);
  }
  return {
    id: eventId(
      corpId,
      submitter.form_id,
      submitter.u_id,
      type === 'weiban.form.resubmitted' ? submitter.submit_at : undefined,
    ),
    type,
    schema_version: SCHEMA_VERSION,
    occurred_at: toIso(submitter.submit_at),
    detected_at: toIso(Math.floor(detectedAtMs / 1000)),
    data,
  };
}

function toSubmissionOut(submission: Submission): z.infer<typeof submissionOut> {
  return {
    id: submission.id,
    submit_at: submission.submit_at,
    time_spent: submission.time_spent ?? null,
    answers: submission.component_value_list.map((answer) => ({
      component_id: answer.component_id,
      component_type: answer.component_type,
      title: answer.title,
      value: answer.value ?? null,
      values: answer.values === undefined || answer.values === null ? null : [...answer.values],
    })),
  };
}

/** SNS message attributes subscribers filter on (docs/guarantees.md#event-attributes). */
export function messageAttributes(event: FormEvent): OutgoingMessage['attributes'] {
  const attributes: Record<string, { DataType: 'String' | 'Number'; StringValue: string }> = {
    event_type: { DataType: 'String', StringValue: event.type },
    form_id: { DataType: 'Number', StringValue: String(event.data.form_id) },
  };
  const city = cleanAttribute(event.data.user_city);
  if (city !== '') attributes.user_city = { DataType: 'String', StringValue: city };
  return attributes;
}

function cleanAttribute(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  // SNS attribute values: XML-legal characters only; keep them short for filter policies.
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .trim()
    .slice(0, 256);
}

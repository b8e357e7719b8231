import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEvent, EVENT_TYPES, formEventSchema, type FormEvent } from '../../../lib/events.js';
import { toMessage } from '../../../lib/publish/message.js';
import type { Submission, Submitter } from '../../../lib/model.js';
import { eventSchemaValidator } from '../../support/event-schema.js';
import { submitter } from '../../fixtures/weiban.js';

const schemaErrors = eventSchemaValidator();
const detectedAtMs = Date.UTC(2026, 10, 26, 8, 0, 3);

const text = fc.string({ unit: 'binary', maxLength: 40 });
const optionalText = fc.option(text, { nil: null });
const int = fc.integer({ min: 0, max: 2 ** 31 });

const submitterArb: fc.Arbitrary<Submitter> = fc
  .record({
    u_id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    form_id: fc.integer({ min: 1, max: 2 ** 31 }),
    status: fc.constant('submit'),
    // Up to 2100: a four-digit year, as RFC 3339 (and the schema's pattern) has it.
    submit_at: fc.integer({ min: 0, max: 4_102_444_800 }),
    external_user_id: text,
    unionid: text,
    form_name: optionalText,
    user_name: optionalText,
    user_city: optionalText,
    avatar: optionalText,
  })
  .chain((row) =>
    fc
      .dictionary(
        fc.string({ minLength: 1, maxLength: 8 }).map((key) => `x_${key}`),
        fc.jsonValue(),
        { maxKeys: 3 },
      )
      .map((extra): Submitter => ({ ...extra, ...row })),
  );

const submissionArb: fc.Arbitrary<Submission> = fc.record({
  id: int,
  form_id: int,
  submit_at: int,
  time_spent: fc.option(int, { nil: undefined }),
  component_value_list: fc.array(
    fc.record({
      component_id: int,
      component_type: fc.constantFrom('radio', 'checkbox', 'input', 'textarea'),
      title: text,
      value: fc.option(text, { nil: undefined }),
      values: fc.option(fc.array(text, { maxLength: 4 }), { nil: null }),
    }),
    { maxLength: 5 },
  ),
});

describe('the JSON Schema file', () => {
  it('accepts every event the service can publish, as zod does', () => {
    fc.assert(
      fc.property(
        submitterArb,
        fc.constantFrom(...EVENT_TYPES),
        fc.option(fc.array(submissionArb, { maxLength: 3 }), { nil: undefined }),
        (row, type, submissions) => {
          const event = buildEvent({
            corpId: 'corp-1',
            submitter: row,
            type,
            detectedAtMs,
            ...(submissions !== undefined && { submissions }),
          });

          const body: unknown = JSON.parse(toMessage(event).body);

          expect(schemaErrors(body)).toEqual([]);
          expect(formEventSchema.safeParse(body).success).toBe(true);
        },
      ),
    );
  });

  it('accepts an event whose answers were cut to fit SNS, flagged truncated', () => {
    const event = buildEvent({
      corpId: 'corp-1',
      submitter: submitter(),
      type: 'weiban.form.submitted',
      detectedAtMs,
      submissions: [
        {
          id: 1,
          form_id: 842,
          submit_at: 1_619_613_511,
          component_value_list: [
            {
              component_id: 105,
              component_type: 'input',
              title: '备注',
              value: '长'.repeat(300_000),
            },
          ],
        },
      ],
    });

    const body = JSON.parse(toMessage(event).body) as FormEvent;

    expect(body.truncated).toBe(true);
    expect(schemaErrors(body)).toEqual([]);
  });

  it('accepts a field added in a later release, so v1 consumers keep working', () => {
    const event = { ...buildEvent(base()), trace_id: 'abc' };

    expect(schemaErrors(event)).toEqual([]);
  });

  it.each([
    ['no id', (event: Record<string, unknown>) => ({ ...event, id: undefined })],
    ['an id of another shape', (event: Record<string, unknown>) => ({ ...event, id: 'evt-1' })],
    ['an unknown type', (event: Record<string, unknown>) => ({ ...event, type: 'weiban.x' })],
    ['schema_version 2', (event: Record<string, unknown>) => ({ ...event, schema_version: 2 })],
    [
      'a local time',
      (event: Record<string, unknown>) => ({ ...event, occurred_at: '2021-04-28T20:38:31+08:00' }),
    ],
    ['truncated: false', (event: Record<string, unknown>) => ({ ...event, truncated: false })],
    [
      'a u_id as a string',
      (event: Record<string, unknown>) => ({
        ...event,
        data: { ...(event.data as object), u_id: '768' },
      }),
    ],
    [
      'an answer without a title',
      (event: Record<string, unknown>) => ({
        ...event,
        data: {
          ...(event.data as object),
          submissions: [{ id: 1, submit_at: 1, time_spent: null, answers: [{ component_id: 1 }] }],
        },
      }),
    ],
  ])('rejects an event with %s, as zod does', (_case, mutate) => {
    const event = mutate(JSON.parse(JSON.stringify(buildEvent(base()))) as Record<string, unknown>);

    expect(schemaErrors(JSON.parse(JSON.stringify(event)))).not.toEqual([]);
    expect(formEventSchema.safeParse(event).success).toBe(false);
  });
});

function base(): Parameters<typeof buildEvent>[0] {
  return { corpId: 'corp-1', submitter: submitter(), type: 'weiban.form.submitted', detectedAtMs };
}

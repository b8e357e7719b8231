import { readFile } from 'node:fs/promises';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { buildEvent, formEventSchema, type FormEvent } from '../../../lib/events.js';
import { renderContract } from '../../../scripts/generate-schema.js';
import type { FormEvent as PublishedFormEvent } from '../../../types/index.js';
import { submitter } from '../../fixtures/weiban.js';

const root = new URL('../../../', import.meta.url);

describe('the published contract', () => {
  it.each(['schema/weiban.form.submitted.v1.json', 'types/index.d.ts'])(
    'commits %s as `npm run schema` generates it from lib/events.ts',
    async (path) => {
      const generated = await renderContract();

      const committed = await readFile(new URL(path, root), 'utf8');

      expect(committed, `${path} is stale: run \`npm run schema\``).toBe(generated[path]);
    },
  );

  // Enforced by `npm run typecheck`: the consumer types and the zod schema describe one shape.
  it('exports consumer types that match the zod schema both ways', () => {
    expectTypeOf<FormEvent>().toExtend<PublishedFormEvent>();
    expectTypeOf<PublishedFormEvent>().toExtend<FormEvent>();
    const event: PublishedFormEvent = buildEvent({
      corpId: 'corp-1',
      submitter: submitter(),
      type: 'weiban.form.submitted',
      detectedAtMs: Date.UTC(2026, 10, 26, 8, 0, 3),
    });

    expect(formEventSchema.parse(event)).toEqual(event);
  });
});

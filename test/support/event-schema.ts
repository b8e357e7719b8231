import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const schemaFile = new URL('../../schema/weiban.form.submitted.v1.json', import.meta.url);

/**
 * Checks events against the committed JSON Schema file the way a consumer would (ajv, draft
 * 2020-12, formats on), not against the zod schema it came from.
 */
export function eventSchemaValidator(): (event: unknown) => string[] {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
  return (event) =>
    validate(event)
      ? []
      : (validate.errors ?? []).map(
          (error) => `${error.instancePath || '(event)'} ${error.message ?? ''}`,
        );
}

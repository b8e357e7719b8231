import { describe, expect, it } from 'vitest';
import { CliError, explain } from '../../../cli/errors.js';
import { ConfigError } from '../../../lib/config.js';
import { TransportError } from '../../../lib/weiban/errors.js';

const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });

describe('explain', () => {
  it.each([
    [new CliError('form 842 has no state'), 'form 842 has no state'],
    [new ConfigError('WEIBAN_CORP_ID', 'is required'), 'WEIBAN_CORP_ID is required'],
    [
      new TransportError('form/user/list', 'HTTP 502', 502),
      'Weiban form/user/list gave no usable answer: HTTP 502',
    ],
    [
      named('CredentialsProviderError', 'Could not load credentials from any providers'),
      'no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values work against the local emulators)',
    ],
    [
      named('ResourceNotFoundException', 'Requested resource not found'),
      'DynamoDB says the table does not exist (Requested resource not found): check --table or --stage, and --region',
    ],
    [named('Error', 'Region is missing'), 'no AWS region is set: pass --region or set AWS_REGION'],
    [
      named('Error', 'connect ECONNREFUSED 127.0.0.1:8000', { code: 'ECONNREFUSED' }),
      'could not connect to 127.0.0.1:8000 (connection refused): is it running? Against the local stack, keep npm start running and use the endpoints it prints',
    ],
    [
      named('ThrottlingException', 'Rate exceeded\n    at Foo (x.js:1:1)'),
      'ThrottlingException: Rate exceeded',
    ],
  ])('says %s in one line', (error, sentence) => {
    expect(explain(error)).toBe(sentence);
  });
});

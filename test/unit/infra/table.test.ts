import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  tableDefinitionFromServerlessYml,
  tablePropertiesFromServerlessYml,
  timeToLiveAttributeFromServerlessYml,
} from '../../../dev/table.js';

const TABLE = `
Type: AWS::DynamoDB::Table
Properties:
  TableName: \${self:service}-\${sls:stage}
  BillingMode: PAY_PER_REQUEST
  AttributeDefinitions:
    - { AttributeName: pk, AttributeType: S }
    - { AttributeName: sk, AttributeType: S }
  KeySchema:
    - { AttributeName: pk, KeyType: HASH }
    - { AttributeName: sk, KeyType: RANGE }
  TimeToLiveSpecification: { AttributeName: ttl, Enabled: true }
  SSESpecification: { SSEEnabled: true }
  Tags:
    - Key: stack
      Value: !Sub '\${AWS::StackName}'
`;

let scratch: string | undefined;

async function files(contents: Record<string, string>): Promise<string> {
  scratch = await mkdtemp(join(tmpdir(), 'table-yml-'));
  for (const [name, text] of Object.entries(contents)) await writeFile(join(scratch, name), text);
  return join(scratch, 'serverless.yml');
}

afterEach(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('tableDefinitionFromServerlessYml', () => {
  it("builds a CreateTable input from the repository's serverless.yml", () => {
    const input = tableDefinitionFromServerlessYml('forms-local');

    expect(input).toEqual({
      TableName: 'forms-local',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'submit_at', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by_submit_at',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'submit_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      SSESpecification: { Enabled: true },
    });
    expect(timeToLiveAttributeFromServerlessYml()).toBe('expires_at');
  });

  it('follows a ${file()} include and reads CloudFormation short-form tags', async () => {
    const path = await files({
      'serverless.yml': [
        'service: x',
        'functions:',
        '  f:',
        '    environment:',
        '      TABLE: !Ref FormsTable',
        '      ARN: !GetAtt FormsTable.Arn',
        'resources:',
        '  - Resources:',
        '      Other: { Type: AWS::SNS::Topic }',
        '  - ${file(./table.yml)}',
      ].join('\n'),
      'table.yml': `Resources:\n  FormsTable:\n${TABLE.replace(/^/gm, '    ')}`,
    });

    const input = tableDefinitionFromServerlessYml('t', path);

    expect(input.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(input.GlobalSecondaryIndexes).toBeUndefined();
    expect(timeToLiveAttributeFromServerlessYml(path)).toBe('ttl');
    expect(tablePropertiesFromServerlessYml(path).Tags).toEqual([
      { Key: 'stack', Value: { 'Fn::Sub': '${AWS::StackName}' } },
    ]);
  });

  it('follows an include of the table resource itself', async () => {
    const path = await files({
      'serverless.yml': 'resources:\n  Resources:\n    FormsTable: ${file(./table.yml)}\n',
      'table.yml': TABLE,
    });

    expect(tableDefinitionFromServerlessYml('t', path).AttributeDefinitions).toHaveLength(2);
  });

  it.each([
    [
      'no table',
      'resources:\n  Resources:\n    Other: { Type: AWS::SNS::Topic }\n',
      'no FormsTable resource',
    ],
    [
      'a table of another type',
      'resources:\n  Resources:\n    FormsTable: { Type: AWS::SNS::Topic }\n',
      'is a AWS::SNS::Topic, not a DynamoDB table',
    ],
    [
      'a bad key type',
      'resources:\n  Resources:\n    FormsTable:\n      Type: AWS::DynamoDB::Table\n      Properties:\n        AttributeDefinitions: []\n        KeySchema: [{ AttributeName: pk, KeyType: PRIMARY }]\n',
      'KeySchema[0].KeyType must be one of HASH, RANGE',
    ],
  ])('fails clearly on %s', async (_case, yml, message) => {
    const path = await files({ 'serverless.yml': yml });

    expect(() => tableDefinitionFromServerlessYml('t', path)).toThrow(message);
  });
});

import { dirname } from 'node:path';
import {
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import { include, isRecord, loadYaml, SERVERLESS_YML } from '../cli/serverless-yml.js';

// docs/guarantees.md#storage: the packaged template is the only definition of the table. Local
// tables are built from serverless.yml's FormsTable resource, never from a copy.
const TABLE_LOGICAL_ID = 'FormsTable';
const DEFAULT_SERVERLESS_YML = SERVERLESS_YML;

type Json = Record<string, unknown>;

/** The FormsTable resource's `Properties`, as written in serverless.yml (or a file it includes). */
export function tablePropertiesFromServerlessYml(path = DEFAULT_SERVERLESS_YML): Json {
  const config = record(loadYaml(path), path);
  const baseDir = dirname(path);
  const resources = include(config.resources, baseDir);
  const parts = Array.isArray(resources) ? resources : [resources];
  for (const part of parts) {
    const partValue = include(part, baseDir);
    if (!isRecord(partValue)) continue;
    const resourceMap = include(partValue.Resources, baseDir);
    if (!isRecord(resourceMap) || !(TABLE_LOGICAL_ID in resourceMap)) continue;
    const table = record(include(resourceMap[TABLE_LOGICAL_ID], baseDir), TABLE_LOGICAL_ID);
    if (table.Type !== 'AWS::DynamoDB::Table') {
      throw new Error(
        `${path}: ${TABLE_LOGICAL_ID} is a ${String(table.Type)}, not a DynamoDB table`,
      );
    }
    return record(table.Properties, `${TABLE_LOGICAL_ID}.Properties`);
  }
  throw new Error(`${path}: no ${TABLE_LOGICAL_ID} resource under resources`);
}

/**
 * A CreateTable input for `tableName` built from serverless.yml's FormsTable: keys, attribute
 * definitions, GSIs, billing and SSE. TTL is applied separately by `createTable`.
 */
export function tableDefinitionFromServerlessYml(
  tableName: string,
  path = DEFAULT_SERVERLESS_YML,
): CreateTableCommandInput {
  const properties = tablePropertiesFromServerlessYml(path);
  const where = `${TABLE_LOGICAL_ID}.Properties`;
  const input: CreateTableCommandInput = {
    TableName: tableName,
    AttributeDefinitions: list(
      properties.AttributeDefinitions,
      `${where}.AttributeDefinitions`,
    ).map((item, index) => attributeDefinition(item, `${where}.AttributeDefinitions[${index}]`)),
    KeySchema: keySchema(properties.KeySchema, `${where}.KeySchema`),
  };
  const billingMode = properties.BillingMode;
  if (billingMode === 'PAY_PER_REQUEST' || billingMode === 'PROVISIONED') {
    input.BillingMode = billingMode;
  }
  if (properties.GlobalSecondaryIndexes !== undefined) {
    input.GlobalSecondaryIndexes = list(
      properties.GlobalSecondaryIndexes,
      `${where}.GlobalSecondaryIndexes`,
    ).map((item, index) => globalSecondaryIndex(item, `${where}.GlobalSecondaryIndexes[${index}]`));
  }
  const sse = properties.SSESpecification;
  if (isRecord(sse) && typeof sse.SSEEnabled === 'boolean') {
    input.SSESpecification = { Enabled: sse.SSEEnabled };
  }
  return input;
}

/** The TTL attribute from serverless.yml's FormsTable, or undefined when TTL is off. */
export function timeToLiveAttributeFromServerlessYml(
  path = DEFAULT_SERVERLESS_YML,
): string | undefined {
  const ttl = tablePropertiesFromServerlessYml(path).TimeToLiveSpecification;
  if (!isRecord(ttl) || ttl.Enabled !== true) return undefined;
  return text(
    ttl.AttributeName,
    `${TABLE_LOGICAL_ID}.Properties.TimeToLiveSpecification.AttributeName`,
  );
}

/**
 * Creates `tableName` as serverless.yml defines FormsTable, waits until it is ACTIVE and
 * turns on its TTL. For DynamoDB Local in tests and `npm start`.
 */
export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  path = DEFAULT_SERVERLESS_YML,
): Promise<void> {
  await client.send(new CreateTableCommand(tableDefinitionFromServerlessYml(tableName, path)));
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  const ttlAttribute = timeToLiveAttributeFromServerlessYml(path);
  if (ttlAttribute !== undefined) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  }
}

function record(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new Error(`serverless.yml: ${where} must be a mapping`);
  return value;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`serverless.yml: ${where} must be a list`);
  return value;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`serverless.yml: ${where} must be a string`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    throw new Error(`serverless.yml: ${where} must be one of ${allowed.join(', ')}`);
  }
  return found;
}

function attributeDefinition(value: unknown, where: string): AttributeDefinition {
  const item = record(value, where);
  return {
    AttributeName: text(item.AttributeName, `${where}.AttributeName`),
    AttributeType: oneOf(item.AttributeType, ['S', 'N', 'B'] as const, `${where}.AttributeType`),
  };
}

function keySchema(value: unknown, where: string): KeySchemaElement[] {
  return list(value, where).map((element, index) => {
    const item = record(element, `${where}[${index}]`);
    return {
      AttributeName: text(item.AttributeName, `${where}[${index}].AttributeName`),
      KeyType: oneOf(item.KeyType, ['HASH', 'RANGE'] as const, `${where}[${index}].KeyType`),
    };
  });
}

function globalSecondaryIndex(value: unknown, where: string): GlobalSecondaryIndex {
  const item = record(value, where);
  const projection = record(item.Projection, `${where}.Projection`);
  const result: Projection = {
    ProjectionType: oneOf(
      projection.ProjectionType,
      ['ALL', 'KEYS_ONLY', 'INCLUDE'] as const,
      `${where}.Projection.ProjectionType`,
    ),
  };
  if (projection.NonKeyAttributes !== undefined) {
    result.NonKeyAttributes = list(
      projection.NonKeyAttributes,
      `${where}.Projection.NonKeyAttributes`,
    ).map((name, index) => text(name, `${where}.Projection.NonKeyAttributes[${index}]`));
  }
  return {
    IndexName: text(item.IndexName, `${where}.IndexName`),
    KeySchema: keySchema(item.KeySchema, `${where}.KeySchema`),
    Projection: result,
  };
}

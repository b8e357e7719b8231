import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

/**
 * Reading the repository's serverless.yml, the one definition of a deployment: the CLI takes
 * a stage's region from it, and the local runner its table. `yaml` is a dev dependency, as is
 * tsx, which runs the CLI: both come with `npm ci` in a checkout (bin/weiban-forms.js).
 */
export const SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

type Json = Record<string, unknown>;

/**
 * The region serverless.yml deploys `stage` to: a literal `provider.region`, else
 * `params.<stage>.region`, else `params.default.region`. Undefined when it names none, or
 * only through a variable (`${…}`) that needs the framework to resolve.
 */
export function stageRegion(stage: string, path = SERVERLESS_YML): string | undefined {
  const config = loadYaml(path);
  if (!isRecord(config)) return undefined;
  const literal = (value: unknown) =>
    typeof value === 'string' && value.trim() !== '' && !value.includes('${')
      ? value.trim()
      : undefined;
  const provider = isRecord(config.provider) ? config.provider : {};
  if (typeof provider.region === 'string' && !provider.region.includes('${')) {
    return literal(provider.region);
  }
  const params = isRecord(config.params) ? config.params : {};
  const forStage = isRecord(params[stage]) ? params[stage] : {};
  const defaults = isRecord(params.default) ? params.default : {};
  if (forStage.region !== undefined) return literal(forStage.region);
  return literal(defaults.region);
}

// CloudFormation short forms (!Ref, !Sub, …) read as their long forms.
const INTRINSICS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  ...Object.fromEntries(
    [
      'And',
      'Base64',
      'Cidr',
      'Equals',
      'FindInMap',
      'GetAZs',
      'GetAtt',
      'If',
      'ImportValue',
      'Join',
      'Length',
      'Not',
      'Or',
      'Select',
      'Split',
      'Sub',
      'ToJsonString',
      'Transform',
    ].map((name) => [name, `Fn::${name}`]),
  ),
};

const cloudFormationTags: (ScalarTag | CollectionTag)[] = Object.entries(INTRINSICS).flatMap(
  ([short, long]) => [
    {
      tag: `!${short}`,
      resolve: (value: string) =>
        long === 'Fn::GetAtt' ? { [long]: value.split('.', 2) } : { [long]: value },
    } satisfies ScalarTag,
    ...(['seq', 'map'] as const).map((collection): CollectionTag => ({
      tag: `!${short}`,
      collection,
      resolve: (value) => ({ [long]: value.toJSON() as unknown }),
    })),
  ],
);

/** A YAML file of serverless.yml's kind, with CloudFormation's short forms read as long forms. */
export function loadYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'), { customTags: cloudFormationTags });
}

const FILE_INCLUDE = /^\$\{file\(([^)]+)\)(?::([\w.-]+))?\}$/;

/** Follows a `${file(./x.yml)}` or `${file(./x.yml):a.b}` include; other values pass through. */
export function include(value: unknown, baseDir: string): unknown {
  if (typeof value !== 'string') return value;
  const match = FILE_INCLUDE.exec(value.trim());
  if (match?.[1] === undefined) return value;
  const path = resolve(baseDir, match[1]);
  let result = loadYaml(path);
  for (const key of match[2]?.split('.') ?? []) {
    result = isRecord(result) ? result[key] : undefined;
  }
  return include(result, dirname(path));
}

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { copyService } from '../../dev/service-copy.js';
import { RehearsalError } from './errors.js';

/**
 * Copies the service into `dir` and turns the copy's serverless.yml into the rehearsal config:
 * `provider.deploymentMethod: direct`, because moto's change sets leave a stack with no
 * Outputs and no Exports. Everything else stays as written (the CloudFormation short forms
 * too). Resolves to the region the stage deploys to (serverless.yml's `region` param).
 */
export async function prepareService(root: string, dir: string): Promise<{ region: string }> {
  await copyService(root, dir);
  const path = join(dir, 'serverless.yml');
  const document = parseDocument(await readFile(path, 'utf8'));
  if (document.errors.length > 0) {
    throw new RehearsalError(`serverless.yml does not parse: ${document.errors[0]?.message ?? ''}`);
  }
  document.setIn(['provider', 'deploymentMethod'], 'direct');
  await writeFile(path, document.toString({ lineWidth: 0 }));
  const region: unknown = document.getIn(['params', 'default', 'region']);
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new RehearsalError(
      'serverless.yml has no region under params.default: the rehearsal deploys to the default region',
    );
  }
  return { region };
}

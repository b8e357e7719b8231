import { cp, symlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

// Build output, dependencies and local state: osls empties .serverless and works in .esbuild,
// so a copy keeps a developer's own output as it was.
const NOT_COPIED = new Set([
  'node_modules',
  '.git',
  '.serverless',
  '.esbuild',
  'coverage',
  '.local',
]);

/**
 * Copies the service at `root` into the new or empty directory `into`, for packaging or
 * deploying it elsewhere: everything but build output, dependencies, git and local state.
 * node_modules is linked, not copied.
 */
export async function copyService(root: string, into: string): Promise<void> {
  await cp(root, into, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(relative(root, source).split(sep)[0] ?? ''),
  });
  await symlink(join(root, 'node_modules'), join(into, 'node_modules'), 'dir');
}

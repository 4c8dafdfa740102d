// Name syntax used by records and queries: hostnames and group names.
// Hostname rules belong to the identity module (one spelling per name, lowercase DNS labels);
// records and queries both go through this file, so they cannot disagree.
export { hostnameProblem } from '../identity/hostname.js';

export const MAX_GROUP_NAME_LENGTH = 64;

const GROUP_RE = /^[a-z0-9][a-z0-9._-]*$/;

/** Returns why `name` is not a valid group name, or undefined when it is. */
export function groupNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'group name must be a string';
  if (name.length === 0 || name.length > MAX_GROUP_NAME_LENGTH || !GROUP_RE.test(name)) {
    return `group name must be 1..${MAX_GROUP_NAME_LENGTH} of a-z 0-9 . _ - starting with a letter or digit`;
  }
  return undefined;
}

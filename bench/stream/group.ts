/**
 * The two processes of one stream run (bench/stream/child.ts): bench/lib/group.ts's Group on this
 * section's child script.
 */
import { fileURLToPath } from 'node:url';
import { Group } from '../lib/group.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export class Pair extends Group {
  constructor() {
    super(CHILD);
  }
}

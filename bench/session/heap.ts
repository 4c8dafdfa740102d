/**
 * Reading a heap snapshot in the parent (so that parsing hundreds of MB of JSON does not disturb
 * the measured child's memory): self size and count of every kind of object, objects by
 * constructor name and the rest by type. The file is deleted afterwards.
 */
import { readFileSync, rmSync } from 'node:fs';

export type HeapClasses = Record<string, { size: number; count: number }>;

export function readHeapClasses(file: string): HeapClasses {
  try {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    const f = snap.snapshot.meta.node_fields;
    const types = snap.snapshot.meta.node_types[0];
    const stride = f.length;
    const iType = f.indexOf('type');
    const iName = f.indexOf('name');
    const iSize = f.indexOf('self_size');
    const out: HeapClasses = {};
    for (let i = 0; i < snap.nodes.length; i += stride) {
      const type = types[snap.nodes[i + iType]];
      const name = snap.strings[snap.nodes[i + iName]];
      const key = type === 'object' ? name
        : type === 'closure' ? '(closure)'
          : type === 'native' ? `(native) ${name.slice(0, 40)}`
            : `(${type})`;
      const e = (out[key] ??= { size: 0, count: 0 });
      e.size += snap.nodes[i + iSize];
      e.count++;
    }
    return out;
  } finally {
    rmSync(file, { force: true });
  }
}

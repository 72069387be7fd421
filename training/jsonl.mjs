import fs from 'node:fs';

/** The records of a JSONL log (a missing file is empty; a line cut short by a killed run is skipped). */
export function jsonl(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    })
    .filter(Boolean);
}

/** The last record of each step of one kind, in step order (a resumed run repeats the steps after its last checkpoint). */
export function lastPerStep(records, kind) {
  return [...new Map(records.filter((r) => r.kind === kind).map((r) => [r.step, r])).values()].sort((a, b) => a.step - b.step);
}

// Entries in mlrun's state folders (`.mlrun/live/`, `.mlrun/uploads/`): one JSON file each, which
// other mlruns read while its owner may rewrite or remove it.
import fs from 'node:fs';
import path from 'node:path';

/** Written aside and renamed: a reader never sees half an entry. */
export function writeEntry(file: string, value: unknown): void {
  const aside = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(aside, JSON.stringify(value));
  fs.renameSync(aside, file);
}

/** The entries of `folder` with their files; those removed meanwhile, or not entries at all, skipped. */
export function readEntries<T>(folder: string): { entry: T; file: string; mtimeMs: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const entries: { entry: T; file: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const file = path.join(folder, name);
    try {
      entries.push({ entry: JSON.parse(fs.readFileSync(file, 'utf8')) as T, file, mtimeMs: fs.statSync(file).mtimeMs });
    } catch {
      // Removed by its owner meanwhile, or not an entry at all.
    }
  }
  return entries;
}

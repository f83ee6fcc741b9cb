import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ParsingConfig } from './templating.ts';
import { DEFAULT_PARSING } from './templating.ts';

/**
 * The `[parsing]` section of the repo's `.dvc/config` and `.dvc/config.local` (local wins), which
 * changes how dicts unpack into `cmd`. Global/system DVC config is not read.
 */
export function readParsingConfig(root: string): ParsingConfig {
  const config = { ...DEFAULT_PARSING };
  for (const name of ['config', 'config.local']) {
    let text: string;
    try {
      text = readFileSync(path.join(root, '.dvc', name), 'utf8');
    } catch {
      continue;
    }
    let inParsing = false;
    for (const line of text.split(/\r?\n/)) {
      const section = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
      if (section) {
        inParsing = section[1] === 'parsing';
        continue;
      }
      const entry = inParsing ? /^\s*(bool|list)\s*=\s*([\w-]+)/.exec(line) : null;
      if (entry?.[1] === 'bool' && (entry[2] === 'store_true' || entry[2] === 'boolean_optional')) config.bool = entry[2];
      if (entry?.[1] === 'list' && (entry[2] === 'nargs' || entry[2] === 'append')) config.list = entry[2];
    }
  }
  return config;
}

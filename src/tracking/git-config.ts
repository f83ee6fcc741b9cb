// One value of a git config file, read with git's own syntax (git's config.c: git_parse_source,
// get_base_var, get_extended_base_var, get_value, parse_value), so that `url = "https://…" ; note`
// is the URL git uses, not the raw line. Reading the file costs far less than spawning git.
// `[include]` and `[includeIf]` are not followed: a remote defined in an included file is not seen.

export interface ConfigKey {
  /** Case-insensitive, as in git. */
  section: string;
  /** Case-sensitive in `[section "subsection"]`, as in git. */
  subsection?: string;
  /** Case-insensitive, as in git. */
  name: string;
}

/**
 * What `git config --get` prints for `key` from the config text: its last value ('' for a key
 * without `=`), or undefined when the key is absent or git would refuse the file as malformed.
 */
export function configValue(text: string, key: ConfigKey): string | undefined {
  const wanted = [key.section.toLowerCase(), ...(key.subsection === undefined ? [] : [key.subsection]), key.name.toLowerCase()].join('.');
  let found: string | undefined;
  const complete = parseConfig(text, (name, value) => {
    if (name === wanted) found = value ?? '';
  });
  return complete ? found : undefined;
}

/** Calls onEntry with each `section[.subsection].name` and its value (undefined without `=`); false on a syntax error. */
function parseConfig(text: string, onEntry: (name: string, value: string | undefined) => void): boolean {
  const reader = new Reader(text.startsWith('\uFEFF') ? text.slice(1) : text);
  let section = '';
  let comment = false;
  for (;;) {
    const c = reader.next();
    if (c === '\n') {
      if (reader.eof) return true;
      comment = false;
      continue;
    }
    if (comment || isSpace(c)) continue;
    if (c === '#' || c === ';') {
      comment = true;
      continue;
    }
    if (c === '[') {
      const header = sectionHeader(reader);
      if (header === undefined) return false;
      section = `${header}.`;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) return false;
    const entry = variable(reader, c);
    if (!entry) return false;
    onEntry(section + entry.name, entry.value);
  }
}

/** After `[`: `section]`, `section "subsection"]`, or the old `section.subsection]` (all lower-cased). */
function sectionHeader(reader: Reader): string | undefined {
  let name = '';
  for (;;) {
    const c = reader.next();
    if (reader.eof) return undefined;
    if (c === ']') return name === '' ? undefined : name;
    if (isSpace(c)) return subsection(reader, name, c);
    if (!isKeyChar(c) && c !== '.') return undefined;
    name += c.toLowerCase();
  }
}

/** ` "subsection"]` after a section name: kept as written, `\x` stands for x. */
function subsection(reader: Reader, section: string, space: string): string | undefined {
  let c = space;
  do {
    if (c === '\n') return undefined;
    c = reader.next();
  } while (isSpace(c));
  if (c !== '"') return undefined;
  let name = `${section}.`;
  for (;;) {
    let d = reader.next();
    if (d === '\n') return undefined;
    if (d === '"') break;
    if (d === '\\') {
      d = reader.next();
      if (d === '\n') return undefined;
    }
    name += d;
  }
  return reader.next() === ']' ? name : undefined;
}

/** A variable from its first letter: its lower-cased name, then nothing or `= value` to the line's end. */
function variable(reader: Reader, first: string): { name: string; value: string | undefined } | undefined {
  let name = first.toLowerCase();
  let c: string;
  for (;;) {
    c = reader.next();
    if (reader.eof || !isKeyChar(c)) break;
    name += c.toLowerCase();
  }
  while (c === ' ' || c === '\t') c = reader.next();
  if (c === '\n') return { name, value: undefined };
  if (c !== '=') return undefined;
  const value = parseValue(reader);
  return value === undefined ? undefined : { name, value };
}

// The escapes git accepts in a value; any other is an error.
const ESCAPES: Record<string, string> = { '\n': '', t: '\t', b: '\b', n: '\n', '\\': '\\', '"': '"' };

/**
 * A value to the end of its line: quotes group, `\` escapes, `;` and `#` outside quotes start a
 * comment, whitespace is trimmed at both ends unless quoted, `\` at a line's end continues it.
 */
function parseValue(reader: Reader): string | undefined {
  let value = '';
  let quoted = false;
  let comment = false;
  // Where unquoted trailing whitespace started, to cut it at the line's end (0: none pending).
  let trimTo = 0;
  for (;;) {
    const c = reader.next();
    if (c === '\n') {
      if (quoted) return undefined;
      return trimTo ? value.slice(0, trimTo) : value;
    }
    if (comment) continue;
    if (isSpace(c) && !quoted) {
      if (!trimTo) trimTo = value.length;
      if (value.length) value += c;
      continue;
    }
    if (!quoted && (c === ';' || c === '#')) {
      comment = true;
      continue;
    }
    trimTo = 0;
    if (c === '\\') {
      const escaped = ESCAPES[reader.next()];
      if (escaped === undefined) return undefined;
      value += escaped;
      continue;
    }
    if (c === '"') {
      quoted = !quoted;
      continue;
    }
    value += c;
  }
}

/** The file's characters as git's get_next_char gives them: CRLF as `\n`, and `\n` forever at the end. */
class Reader {
  readonly #text: string;
  #at = 0;
  eof = false;

  constructor(text: string) {
    this.#text = text;
  }

  next(): string {
    if (this.#at >= this.#text.length) {
      this.eof = true;
      return '\n';
    }
    const c = this.#text[this.#at++]!;
    if (c === '\r' && this.#text[this.#at] === '\n') {
      this.#at += 1;
      return '\n';
    }
    return c;
  }
}

// git's own isspace (its sane_ctype): no vertical tab or form feed.
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function isKeyChar(c: string): boolean {
  return /^[A-Za-z0-9-]$/.test(c);
}

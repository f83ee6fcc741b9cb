/**
 * Splits a POSIX shell line into its simple commands' words, as `sh -c` would before running them:
 * quotes and backslashes removed, `;` `&&` `||` `|` `&` `(` `)` and newlines separating commands,
 * redirections (`> file`, `2>&1`) dropped, `#` comments ignored. Expansions (`$x`, globs) are kept
 * literally: a command relying on them cannot be matched word for word anyway.
 */
export function shellCommands(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let skipNext = false;
  const endWord = (): void => {
    if (inWord) {
      if (skipNext) skipNext = false;
      else words.push(word);
    }
    word = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\') {
      if (line[i + 1] === '\n') i++;
      else if (i + 1 < line.length) {
        word += line[++i];
        inWord = true;
      }
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word += line.slice(i + 1, end < 0 ? line.length : end);
      inWord = true;
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      inWord = true;
      for (i++; i < line.length && line[i] !== '"'; i++) {
        const next = line[i + 1];
        if (line[i] === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
          i++;
          if (next !== '\n') word += next; // backslash-newline is a line continuation
        } else word += line[i];
      }
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '#' && !inWord) {
      const end = line.indexOf('\n', i);
      i = end < 0 ? line.length : end - 1;
    } else if (';&|()\n'.includes(c)) {
      if (c === '&' && line[i + 1] === '>') {
        endWord();
        i += line[i + 2] === '>' ? 2 : 1;
        skipNext = true;
        continue;
      }
      endCommand();
      if ((c === '&' || c === '|') && line[i + 1] === c) i++;
    } else if (c === '<' || c === '>') {
      // A word of digits right before the operator is a file descriptor (`2>`), not an argument.
      if (/^\d+$/.test(word) && inWord) {
        word = '';
        inWord = false;
      } else endWord();
      if (line[i + 1] === '>' || line[i + 1] === '&' || line[i + 1] === '<') i++;
      if (line[i] === '&' && /\d|-/.test(line[i + 1] ?? '')) {
        i++; // `2>&1`, `>&-`: the target is part of the operator
        continue;
      }
      skipNext = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * True when one of the line's commands is `mlrun [options] -- <argv...>`, possibly after
 * `VAR=value` assignments; `mlrun` may be given by path (`./build/mlrun`).
 */
export function lineRunsWrapped(line: string, argv: readonly string[]): boolean {
  return shellCommands(line).some((words) => {
    const start = words.findIndex((w) => !ASSIGNMENT.test(w));
    const program = words[start];
    if (start < 0 || !program || !/(^|[\\/])mlrun(\.exe)?$/.test(program)) return false;
    const separator = words.indexOf('--', start + 1);
    if (separator < 0) return false;
    const wrapped = words.slice(separator + 1);
    return wrapped.length === argv.length && wrapped.every((w, i) => w === argv[i]);
  });
}

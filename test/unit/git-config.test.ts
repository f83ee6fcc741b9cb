// configValue against git itself: each case's expectation is also what the real
// `git config --get remote.origin.url` answers for the same .git/config in a temporary repository.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { configValue } from '../../src/tracking/git-config.ts';

const ORIGIN_URL = { section: 'remote', subsection: 'origin', name: 'url' };

// Only the repository's own config: no system or user config of the machine running the tests.
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-git-config-'));
execFileSync('git', ['init', '-q', repo], { env: GIT_ENV });
after(() => fs.rmSync(repo, { recursive: true, force: true }));

/** What git answers for remote.origin.url: undefined when the key is absent (exit 1) or the file malformed (exit 128). */
function gitAnswer(config: string): string | undefined {
  fs.writeFileSync(path.join(repo, '.git', 'config'), config);
  const result = spawnSync('git', ['config', '--get', 'remote.origin.url'], { cwd: repo, env: GIT_ENV, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.replace(/\n$/, '') : undefined;
}

const CASES: [name: string, config: string, expected: string | undefined][] = [
  ['a plain value', '[remote "origin"]\n\turl = https://host/org/repo.git\n', 'https://host/org/repo.git'],
  ['a quoted value with a ; comment', '[remote "origin"]\n\turl = "https://bob:TOKEN@host/org/repo.git" ; the CI token\n', 'https://bob:TOKEN@host/org/repo.git'],
  ['a # comment after an unquoted value', '[remote "origin"]\n\turl = https://host/r.git # mirror\n', 'https://host/r.git'],
  ['; and # inside quotes', '[remote "origin"]\n\turl = "https://host/a;b#c.git"\n', 'https://host/a;b#c.git'],
  ['quotes around part of the value', '[remote "origin"]\n\turl = https://"host"/r.git\n', 'https://host/r.git'],
  ['the escapes \\" \\\\ \\t \\n \\b', '[remote "origin"]\n\turl = "q\\"b\\\\s\\tt\\nn\\bb"\n', 'q"b\\s\tt\nn\bb'],
  ['an unknown escape makes the file malformed', '[remote "origin"]\n\turl = "a\\qb"\n', undefined],
  ['an unclosed quote makes the file malformed', '[remote "origin"]\n\turl = "https://host/r.git\n', undefined],
  ['whitespace trimmed at both ends, kept inside', '[remote "origin"]\n\turl =  \t a  b \t \n', 'a  b'],
  ['whitespace kept inside quotes', '[remote "origin"]\n\turl = " a b "\n', ' a b '],
  ['a line continued with a trailing backslash', '[remote "origin"]\n\turl = https://host/\\\norg/repo.git\n', 'https://host/org/repo.git'],
  ['section and key names in any case', '[REMOTE "origin"]\n\tURL = https://host/r.git\n', 'https://host/r.git'],
  ['the subsection is case-sensitive', '[remote "Origin"]\n\turl = https://host/r.git\n', undefined],
  ['a backslash in the subsection escapes the next character', '[remote "or\\igin"]\n\turl = https://host/r.git\n', 'https://host/r.git'],
  ['the old [section.subsection] form, lower-cased', '[remote.ORIGIN]\n\turl = https://host/r.git\n', 'https://host/r.git'],
  ['a tab before the subsection, and a key on the header line', '[remote\t"origin"] url = https://host/r.git\n', 'https://host/r.git'],
  ['the last value wins', '[remote "origin"]\n\turl = https://host/a.git\n[core]\n\tbare = false\n[remote "origin"]\n\turl = https://host/b.git\n', 'https://host/b.git'],
  ['other remotes and commented-out lines', '# [remote "origin"]\n; url = https://bad/\n[remote "upstream"]\n\turl = https://up/\n[remote "origin"]\n\t# url = https://bad/\n\turl = https://host/r.git\n', 'https://host/r.git'],
  ['a key without =', '[remote "origin"]\n\turl\n', ''],
  ['CRLF line ends and a byte-order mark', '\uFEFF[remote "origin"]\r\n\turl = https://host/r.git\r\n', 'https://host/r.git'],
  ['no origin', '[core]\n\tbare = false\n', undefined],
  ['a header that is never closed', '[remote "origin"\n\turl = https://host/r.git\n', undefined],
];

for (const [name, config, expected] of CASES) {
  test(`git config syntax: ${name}`, () => {
    assert.equal(gitAnswer(config), expected, 'git itself');
    assert.equal(configValue(config, ORIGIN_URL), expected);
  });
}

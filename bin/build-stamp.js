// The compiled build's fingerprint of the sources it was built from, so the
// `mosaic` command never runs a build older than the sources beside it.
// Written by scripts/build.js; checked by bin/mosaic.js on every call, which
// must stay cheap: a stat of each source file, and a content hash only when a
// file's size or time differs (a checkout or `touch` without a change).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const SOURCE_DIRS = ['src', 'appservice', 'clients'];
export const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json'];
export const STAMP_FILE = path.join('dist', 'build-stamp.json');
const COMPILED = /\.(ts|tsx|mts)$/;
// The web client is bundled apart (clients/web/build.mjs), not compiled into dist/.
const NOT_COMPILED = `clients${path.sep}web${path.sep}`;

/** Every file the build compiles from, relative to the project root, sorted. */
export function sourceFiles(root) {
  const files = SOURCE_FILES.filter((f) => existsSync(path.join(root, f)));
  for (const dir of SOURCE_DIRS) {
    if (!existsSync(path.join(root, dir))) continue;
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !COMPILED.test(entry.name)) continue;
      const parent = entry.parentPath ?? entry.path;
      const file = path.relative(root, path.join(parent, entry.name));
      if (!file.startsWith(NOT_COMPILED)) files.push(file);
    }
  }
  return files.sort();
}

function statsOf(root, files) {
  return files.map((f) => {
    const s = statSync(path.join(root, f));
    return [f, s.size, Math.floor(s.mtimeMs)];
  });
}

function contentHash(root, files) {
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(readFileSync(path.join(root, f))).update('\0');
  return hash.digest('hex');
}

export function computeStamp(root) {
  const files = sourceFiles(root);
  return { files: statsOf(root, files), hash: contentHash(root, files) };
}

/** Whether dist/ was built from exactly the sources now in `root`. */
export function buildIsFresh(root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(root, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  const files = sourceFiles(root);
  const stats = statsOf(root, files);
  const same = stats.length === stamp.files.length && stats.every((s, i) => s[0] === stamp.files[i][0] && s[1] === stamp.files[i][1] && s[2] === stamp.files[i][2]);
  if (same) return true;
  // Same set of files with other times: compare contents before calling the build stale.
  return stats.length === stamp.files.length && stats.every((s, i) => s[0] === stamp.files[i][0]) && contentHash(root, files) === stamp.hash;
}

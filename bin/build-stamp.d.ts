/** Types of build-stamp.js (plain JavaScript: bin/ runs before anything is compiled). */
export const SOURCE_DIRS: string[];
export const SOURCE_FILES: string[];
export const STAMP_FILE: string;
export function sourceFiles(root: string): string[];
export function computeStamp(root: string): { files: Array<[string, number, number]>; hash: string };
export function buildIsFresh(root: string): boolean;

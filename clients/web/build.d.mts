/** Types of build.mjs for the TypeScript that imports it (the test setup). */
export function buildWebClient(options?: { quiet?: boolean }): Promise<{ js: number; css: number } | null>;

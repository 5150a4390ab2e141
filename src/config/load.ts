/**
 * Loads configuration: YAML file (--config, MOSAIC_CONFIG, or ./config.yaml
 * when present), then environment overrides, then validation. A bad value
 * becomes one ConfigError line naming the key, the value and what is expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { MosaicError } from '../errors.ts';
import { configSchema, ENV_OVERRIDES, FILE_SECRETS, isSecretPath, type MosaicConfig } from './schema.ts';

export class ConfigError extends MosaicError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('config_invalid', message, { httpStatus: 500, ...(details ? { details } : {}) });
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Explicit file path (the CLI's --config). */
  file?: string | undefined;
  /** Where the explicit path came from, for messages (default "--config"). */
  fileOrigin?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: MosaicConfig;
  /** The file read, if any. */
  source: string | null;
  /** How that file was chosen: "--config", "MOSAIC_CONFIG", "./config.yaml in the working directory" …; null without a file. */
  origin?: string | null;
}

type Json = Record<string, unknown>;

function setPath(target: Json, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur: Json = target;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Json;
  }
  cur[parts[parts.length - 1]!] = value;
}

function getPath(source: unknown, dotted: string): unknown {
  let cur: unknown = source;
  for (const part of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

function resolveFile(env: NodeJS.ProcessEnv, cwd: string, explicit?: string, explicitOrigin = '--config'): { file: string; origin: string } | null {
  const named = explicit ?? env.MOSAIC_CONFIG;
  if (named) {
    const full = path.resolve(cwd, named);
    const origin = explicit ? explicitOrigin : 'MOSAIC_CONFIG';
    if (!existsSync(full)) throw new ConfigError(`config: file ${full} does not exist (from ${origin})`);
    return { file: full, origin };
  }
  const fallback = path.resolve(cwd, 'config.yaml');
  return existsSync(fallback) ? { file: fallback, origin: './config.yaml in the working directory' } : null;
}

function readYaml(file: string): Json {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config: ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config: ${file} must hold a mapping of keys at the top level`);
  return doc as Json;
}

function applyEnv(raw: Json, env: NodeJS.ProcessEnv): void {
  for (const o of ENV_OVERRIDES) {
    let value = env[o.env];
    const fileVar = env[`${o.env}_FILE`];
    if ((value === undefined || value === '') && o.secret && fileVar) value = readSecretFile(fileVar, `${o.env}_FILE`);
    if (value === undefined || value === '') continue;
    if (o.kind === 'list') {
      setPath(raw, o.path, value.split(',').map((v) => v.trim()).filter(Boolean));
    } else if (o.kind === 'pairs') {
      setPath(
        raw,
        o.path,
        value.split(',').filter(Boolean).map((pair) => {
          const at = pair.indexOf(':');
          return at < 0 ? { id: pair, key: '' } : { id: pair.slice(0, at), key: pair.slice(at + 1) };
        }),
      );
    } else {
      setPath(raw, o.path, value);
    }
  }
}

function readSecretFile(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`config: ${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function applyFileSecrets(raw: Json, cwd: string): void {
  for (const key of FILE_SECRETS) {
    const fileKey = `${key}File`;
    const file = getPath(raw, fileKey);
    if (typeof file === 'string' && file && !getPath(raw, key)) setPath(raw, key, readSecretFile(path.resolve(cwd, file), fileKey));
  }
}

function describeValue(pathStr: string, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (isSecretPath(pathStr)) return '<redacted>';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function explainIssue(issue: z.core.$ZodIssue, raw: Json): string {
  const keyPath = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const parent = keyPath ? `${keyPath}.` : '';
    const keys = issue.keys.map((k) => `${parent}${k}`);
    if (keyPath === 'providers') {
      return `config: ${keys.join(', ')}: unknown provider — expected one of anthropic, openai, openrouter, zai, ollama`;
    }
    return `config: ${keys.join(', ')}: unknown key — check the spelling against config.example.yaml`;
  }
  const value = getPath(raw, keyPath);
  let expected = issue.message;
  if (issue.code === 'invalid_type') expected = `expected ${issue.expected}`;
  if (issue.code === 'invalid_value') expected = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (/provider/.test(keyPath) && issue.code === 'invalid_value') expected = `unknown provider — ${expected}`;
  return `config: ${keyPath || '(top level)'}: got ${describeValue(keyPath, value)} — ${expected}`;
}

/** Validates an already-merged raw object. */
export function parseConfig(raw: Json): MosaicConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => explainIssue(i, raw));
    throw new ConfigError(lines.join('\n'), { issues: lines });
  }
  return result.data;
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const resolved = resolveFile(env, cwd, options.file, options.fileOrigin);
  const source = resolved?.file ?? null;
  const raw = source ? readYaml(source) : {};
  applyEnv(raw, env);
  applyFileSecrets(raw, source ? path.dirname(source) : cwd);
  return { config: parseConfig(raw), source, origin: resolved?.origin ?? null };
}

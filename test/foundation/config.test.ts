import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { renderSampleConfig } from '../../src/config/sample.ts';

function withFile(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('starts from defaults with no file and no environment', () => {
    const { config, source } = loadConfig({ env: {}, cwd: mkdtempSync(path.join(tmpdir(), 'mosaic-empty-')) });
    expect(source).toBeNull();
    expect(config.http.port).toBe(3000);
    expect(config.valkey.url).toBe('redis://127.0.0.1:6379');
    expect(config.database.url).toBeUndefined();
    expect(config.matrix.port).toBe(9000);
  });

  it('a wrong type names the key, the value and what is expected', () => {
    const err = errorOf(() => loadConfig({ file: withFile('http:\n  port: "three thousand"\n'), env: {} }));
    expect(err.message).toMatch(/^config: http\.port: got "three thousand" — expected number/);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('an unknown provider names the key and the known providers', () => {
    const err = errorOf(() => loadConfig({ file: withFile('providers:\n  mistral:\n    apiKey: x\n'), env: {} }));
    expect(err.message).toContain('providers.mistral');
    expect(err.message).toContain('unknown provider');
    expect(err.message).toContain('anthropic, openai, openrouter, zai, ollama');
  });

  it('an unknown provider in the fallback chain names the key', () => {
    const err = errorOf(() => loadConfig({ file: withFile('routing:\n  fallbackChain:\n    - provider: gemini\n      model: x\n'), env: {} }));
    expect(err.message).toMatch(/routing\.fallbackChain\.0\.provider: got "gemini" — unknown provider/);
  });

  it('a bad URL names the key and the expected form', () => {
    const err = errorOf(() => loadConfig({ env: { OPENAI_BASE_URL: 'not a url' } }));
    expect(err.message).toBe('config: providers.openai.baseUrl: got "not a url" — expected an http(s) URL such as http://127.0.0.1:8008');
  });

  it('an unknown key is refused rather than silently ignored', () => {
    const err = errorOf(() => loadConfig({ file: withFile('htp:\n  port: 1\n'), env: {} }));
    expect(err.message).toContain('htp: unknown key');
  });

  it('never prints a secret value in an error', () => {
    const err = errorOf(() => loadConfig({ env: { DATABASE_URL: 'mysql://user:hunter2@db/x' } }));
    expect(err.message).toContain('database.url');
    expect(err.message).not.toContain('hunter2');
  });

  it('environment overrides the file; secrets come from *_FILE variables and *File keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-secret-'));
    writeFileSync(path.join(dir, 'anthropic.key'), 'sk-ant-from-file\n');
    writeFileSync(path.join(dir, 'openai.key'), 'sk-openai-from-file\n');
    const file = withFile(`http:\n  port: 4000\nproviders:\n  anthropic:\n    apiKeyFile: ${path.join(dir, 'anthropic.key')}\n`);
    const { config } = loadConfig({ file, env: { PORT: '5000', OPENAI_API_KEY_FILE: path.join(dir, 'openai.key'), MATRIX_AUTO_PROVISION_DOMAINS: 'a.org, b.org' } });
    expect(config.http.port).toBe(5000);
    expect(config.providers.anthropic.apiKey).toBe('sk-ant-from-file');
    expect(config.providers.openai.apiKey).toBe('sk-openai-from-file');
    expect(config.matrix.autoProvisionDomains).toEqual(['a.org', 'b.org']);
  });

  it('MOSAIC_CONFIG names the file; a missing file is a clear error', () => {
    const file = withFile('http:\n  port: 4100\n');
    expect(loadConfig({ env: { MOSAIC_CONFIG: file } }).config.http.port).toBe(4100);
    expect(errorOf(() => loadConfig({ env: { MOSAIC_CONFIG: '/nonexistent/mosaic.yaml' } })).message).toContain('does not exist');
  });

  it('config.example.yaml is the current sample and is itself valid', () => {
    const checkedIn = readFileSync(path.resolve('config.example.yaml'), 'utf8');
    expect(checkedIn, 'config.example.yaml is stale: run `mosaic config sample -o config.example.yaml`').toBe(renderSampleConfig());
    const { config } = loadConfig({ file: path.resolve('config.example.yaml'), env: {} });
    expect(config.http.port).toBe(3000);
  });
});

export { configSchema, PROVIDER_NAMES, ENV_OVERRIDES, isSecretPath, type MosaicConfig, type ProviderName } from './schema.ts';
export { loadConfig, parseConfig, ConfigError, type LoadedConfig } from './load.ts';
export { renderSampleConfig } from './sample.ts';

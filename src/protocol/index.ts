export * from './channel-message.ts';
export * from './channel-adapter.ts';
export * from './channel-errors.ts';
export * from './channel-registry.ts';

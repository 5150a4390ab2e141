/** The Matrix channel (appservice): what the rest of Mosaic may use. */
export { matrixPlugin, type MatrixPluginOptions } from './matrix-plugin.ts';
export { MatrixAdapter } from './matrix-adapter.ts';
export { generateRegistration, loadRegistration, parseRegistration, renderRegistration, type Registration } from './transport/registration.ts';
export { cliExtensions } from './cli-extension.ts';

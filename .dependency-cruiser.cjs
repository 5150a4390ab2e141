/** Import directions from shared/DESIGN.md, enforced by `npm run lint`. */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Import cycles hide the architecture; break them with an interface.', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
    { name: 'src-not-appservice', severity: 'error', comment: 'The core never depends on the Matrix channel.', from: { path: '^src/' }, to: { path: '^appservice/' } },
    { name: 'src-not-clients', severity: 'error', from: { path: '^src/' }, to: { path: '^clients/' } },
    { name: 'clients-only-through-the-api', severity: 'error', comment: 'The clients reach Mosaic through its public API only, never its code.', from: { path: '^clients/' }, to: { path: '^(src|appservice)/' } },
    { name: 'no-test-code-in-product', severity: 'error', comment: 'Test peers (homeserver, simulators) are never shipped.', from: { path: '^(src|appservice|clients)/' }, to: { path: '^test/' } },
    { name: 'provider-sdks-only-in-providers', severity: 'error', from: { pathNot: '^src/providers/' }, to: { path: 'node_modules/(@anthropic-ai/sdk|openai|ollama)/' } },
    { name: 'bullmq-only-in-jobs', severity: 'error', from: { pathNot: '^src/jobs/' }, to: { path: 'node_modules/bullmq/' } },
    { name: 'matrix-libs-only-in-appservice', severity: 'error', from: { pathNot: '^appservice/' }, to: { path: 'node_modules/(matrix-js-sdk|matrix-bot-sdk|matrix-appservice|matrix-appservice-bridge)/' } },
    { name: 'prom-client-only-in-metrics-adapters', severity: 'error', comment: 'Parts record through the metrics port (src/metrics/metrics-port.ts); Prometheus lives in src/http/ and the Matrix channel\'s own metrics file.', from: { pathNot: '^(src/http/|appservice/transport/matrix-metrics\\.ts$)' }, to: { path: 'node_modules/prom-client/' } },
    { name: 'domain-knows-no-http', severity: 'error', comment: 'Domain code knows nothing of HTTP; adapters translate at the edges.', from: { path: '^src/(conversations|commands|routing|agents|identity|protocol)/' }, to: { path: 'node_modules/(express|ws|helmet)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json'] },
  },
};

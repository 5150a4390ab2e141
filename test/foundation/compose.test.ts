/**
 * What docker-compose.yml promises, checked without a Docker engine: pinned
 * images, dependencies that exist and can be waited on, a step that pulls the
 * Ollama models the default rules name, a registration step that waits for
 * Conduit, and only settings Mosaic knows.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV_OVERRIDES } from '../../src/config/schema.ts';
import { parseConfig } from '../../src/config/load.ts';
import { waitForHomeserver } from '../../appservice/transport/conduit-register.ts';

interface Service {
  image?: string;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}

const compose = YAML.parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

describe('docker-compose.yml', () => {
  it('pins every image it pulls to a version', () => {
    const floating: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      if (!s.image || s.build || s.image === 'mosaic:local') continue;
      const tag = s.image.includes(':') ? s.image.slice(s.image.lastIndexOf(':') + 1) : 'latest';
      // A release number (0.8.1-pg16, 8.1.11-alpine, v0.10.9), not a moving name (latest, pg16, 8-alpine).
      if (!/\d+\.\d+/.test(tag)) floating.push(`${name}: ${s.image}`);
    }
    expect(floating, 'images without a pinned version').toEqual([]);
  });

  it('depends only on services that exist, waiting on what they can report', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[target], `${name} depends on ${target}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[target]!.healthcheck, `${name} waits for ${target} to be healthy: it needs a healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(services[target]!.restart, `${target} is a one-shot`).toBe('no');
      }
    }
    // Mosaic cannot start without these; it reports the homeserver and Ollama once they answer.
    expect(services.mosaic!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, valkey: { condition: 'service_healthy' }, 'mosaic-registration': { condition: 'service_completed_successfully' } });
    expect(Object.keys(services.mosaic!.depends_on ?? {})).not.toContain('conduit-register');
  });

  it('registers the appservice only once Conduit answers', () => {
    const register = services['conduit-register']!;
    expect(register.command?.slice(0, 2)).toEqual(['conduit', 'register']);
    const wait = register.command!.indexOf('--wait');
    expect(wait).toBeGreaterThan(0);
    expect(Number(register.command![wait + 1])).toBeGreaterThanOrEqual(60);
    expect(register.depends_on).toMatchObject({ conduit: {}, 'mosaic-registration': { condition: 'service_completed_successfully' } });
  });

  it('pulls every Ollama model the default routing rules and the embeddings use', () => {
    const pull = services['ollama-pull']!;
    expect(pull.depends_on).toMatchObject({ ollama: { condition: 'service_healthy' } });
    const listed = /:-([^}]*)\}/.exec(pull.environment!.OLLAMA_MODELS!)![1]!.split(/\s+/);
    const sql = readdirSync('migrations').filter((f) => f.endsWith('.sql')).map((f) => readFileSync(`migrations/${f}`, 'utf8')).join('\n');
    const ruleModels = new Set([...sql.matchAll(/"provider":"ollama","model":"([^"]+)"/g)].map((m) => m[1]!));
    const config = parseConfig({});
    const wanted = new Set([...ruleModels, config.embeddings.model, ...config.routing.fallbackChain.filter((f) => f.provider === 'ollama').map((f) => f.model)]);
    expect(wanted.size).toBeGreaterThan(1);
    for (const model of wanted) expect(listed, `ollama-pull should pull ${model}`).toContain(model);
  });

  it('sets only environment variables Mosaic reads', () => {
    const known = new Set([...ENV_OVERRIDES.map((o) => o.env), 'CONDUIT_ADMIN_USER', 'CONDUIT_ADMIN_PASSWORD', 'APPSERVICE_URL']);
    for (const name of ['mosaic', 'mosaic-registration', 'conduit-register']) {
      for (const key of Object.keys(services[name]!.environment ?? {})) expect(known.has(key), `${name}: ${key} is not a Mosaic setting`).toBe(true);
    }
  });
});

describe('metrics in the compose stack', () => {
  it('are reachable on the compose network only, and the optional Prometheus scrapes them with the alert rules', () => {
    const mosaic = services.mosaic!;
    const env = mosaic.environment ?? {};
    const config = parseConfig({ metrics: { host: env.METRICS_HOST, port: Number(env.METRICS_PORT) } });
    expect(config.metrics.host).toBe('0.0.0.0');
    // Not published: the listener has no authentication.
    expect((mosaic.ports ?? []).some((p) => p.split(':').includes(String(config.metrics.port)))).toBe(false);

    const prometheus = services.prometheus!;
    expect(prometheus.profiles).toEqual(['monitoring']);
    // Its UI on the host's loopback only.
    for (const p of prometheus.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
    const mounts = new Map((prometheus.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[1]!, v.split(':')[0]!]));
    const configFile = prometheus.command!.find((c) => c.startsWith('--config.file='))!.slice('--config.file='.length);
    const scrape = YAML.parse(readFileSync(mounts.get(configFile)!, 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    expect(scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))).toEqual([`mosaic:${config.metrics.port}`]);
    for (const rules of scrape.rule_files) {
      expect(mounts.has(rules), `${rules} is mounted`).toBe(true);
      const groups = (YAML.parse(readFileSync(mounts.get(rules)!, 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> }).groups;
      for (const rule of groups.flatMap((g) => g.rules)) {
        expect(rule, String(rule.alert)).toMatchObject({ alert: expect.stringMatching(/^Mosaic\w+$/), expr: expect.any(String), labels: { severity: expect.stringMatching(/^(critical|warning)$/) }, annotations: { summary: expect.any(String), description: expect.any(String) } });
      }
    }
  });
});

describe('mosaic conduit register --wait', () => {
  it('waits for the homeserver to answer, and gives up with one line when it never does', async () => {
    // A port that answers 503 first (Conduit still starting), then 200.
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      res.writeHead(calls < 2 ? 503 : 200, { 'content-type': 'application/json' }).end('{"versions":["v1.11"]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const waited: string[] = [];
    await waitForHomeserver(url, 30_000, (reason) => waited.push(reason));
    expect(waited).toEqual(['HTTP 503']);
    expect(calls).toBe(2);
    await new Promise<void>((r) => server.close(() => r()));
    await expect(waitForHomeserver(url, 1, () => undefined)).rejects.toThrow(/did not answer \/_matrix\/client\/versions within 0 s \(last: ECONNREFUSED\)/);
  });
});

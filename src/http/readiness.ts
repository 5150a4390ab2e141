/** What /readyz reports: each dependency's state, and whether the required ones are up. */
export interface ReadinessCheck {
  name: string;
  /** A required check that fails makes /readyz answer 503. */
  required: boolean;
  check(): Promise<{ ok: boolean; detail?: unknown }>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; required: boolean; detail?: unknown }>;
}

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  async report(timeoutMs = 3000): Promise<ReadinessReport> {
    const entries = await Promise.all(
      this.checks.map(async (c) => {
        let result: { ok: boolean; detail?: unknown };
        try {
          result = await Promise.race([
            c.check(),
            new Promise<{ ok: boolean; detail: string }>((resolve) => setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs).unref()),
          ]);
        } catch (err) {
          result = { ok: false, detail: (err as Error).message };
        }
        return [c.name, { ...result, required: c.required }] as const;
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, r]) => r.ok || !r.required), checks };
  }
}

/**
 * Jobs that let the chat channels react to a change (a link, a team change)
 * may run before this process's channels have subscribed: they wait for
 * them. A process that stops first (perhaps before its channels started)
 * releases them with an error, so the job is retried — by this process's
 * successor or another replica — instead of finding nobody to run.
 */
export class ChannelsReady {
  private stopping = false;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  /** Called by the core once its channels have started. */
  channelsStarted(): void {
    this.markReady();
  }

  /** The process is stopping: jobs waiting for the channels give up, to be retried. */
  stop(): void {
    this.stopping = true;
    this.markReady();
  }

  /** Resolves once the channels have subscribed; throws when the process stops first. */
  protected async channelsReady(): Promise<void> {
    await this.ready;
    if (this.stopping) throw new Error('the process is stopping; the change is delivered on a retry');
  }
}

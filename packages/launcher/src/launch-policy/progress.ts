/**
 * Launch progress a host can stream to its users, as a listener API and as an async iterator.
 * The watch code emits the Kubernetes milestones; the provisioner emits its own (namespace created,
 * connection info received, ready) on the same channel.
 */

/** Milestones in launch order, then `warning` (a Kubernetes Warning event worth showing). */
export const LAUNCH_MILESTONES = [
  'namespace-created',
  'resource-created',
  'pod-created',
  'scheduled',
  'pulling',
  'pulled',
  'started',
  'pod-running',
  'connection-info-received',
  'ready',
] as const;

export type LaunchMilestone = (typeof LAUNCH_MILESTONES)[number];
export type LaunchProgressType = LaunchMilestone | 'warning';

export interface LaunchProgressEvent {
  type: LaunchProgressType;
  kernelId: string;
  at: Date;
  /** A sentence for people, e.g. `Pulling image "elyra/kernel-py:3.2.3"`. */
  message: string;
  /** Structured facts (node name, pod IP, event reason...). */
  details?: Record<string, unknown>;
}

export type LaunchProgressListener = (event: LaunchProgressEvent) => void;

/**
 * A progress channel for one launch. Listeners get events as they happen; every async iterator gets
 * all events from the first one (late iterators replay the history) and ends when the channel closes.
 */
export class LaunchProgress implements AsyncIterable<LaunchProgressEvent> {
  private readonly events: LaunchProgressEvent[] = [];
  private readonly listeners = new Set<LaunchProgressListener>();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(readonly kernelId: string) {}

  /** Every event so far, in order. */
  get history(): readonly LaunchProgressEvent[] {
    return this.events;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True once a milestone of this type was emitted. */
  has(type: LaunchProgressType): boolean {
    return this.events.some((e) => e.type === type);
  }

  emit(type: LaunchProgressType, message: string, details?: Record<string, unknown>, at: Date = new Date()): LaunchProgressEvent | undefined {
    if (this.closed) return undefined;
    const event: LaunchProgressEvent = { type, kernelId: this.kernelId, at, message, ...(details ? { details } : {}) };
    this.events.push(event);
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a host's listener must not break the launch
      }
    }
    for (const w of [...this.wakers]) w();
    return event;
  }

  on(listener: LaunchProgressListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Ends the iterators (after they have drained the history); later emits are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.wakers]) w();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LaunchProgressEvent> {
    let i = 0;
    for (;;) {
      while (i < this.events.length) yield this.events[i++] as LaunchProgressEvent;
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.wakers.delete(wake);
          resolve();
        };
        this.wakers.add(wake);
      });
    }
  }
}

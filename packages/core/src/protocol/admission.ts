/**
 * Admission of connections to a port that strangers can reach (the response listener): a cap in total
 * and per source address, where a newcomer at a cap takes the place of the oldest connection that has
 * not sent a byte yet. A legitimate sender writes as soon as it is connected, so idle connections
 * cannot keep it out: they are the first to go, and the idle timeout ends the rest.
 */

export interface AdmissionLimits {
  /** Connections open at once, in total. */
  maxConnections: number;
  /** Connections open at once from one source address. */
  maxPerSource: number;
}

/** A connection's place; `active()` once it has sent data (it can no longer be evicted), `release()` when it ends. */
export interface AdmissionTicket {
  active(): void;
  release(): void;
}

interface Entry {
  source: string;
  isActive: boolean;
  evict: () => void;
  released: boolean;
}

export type AdmissionOutcome =
  | { admitted: true; ticket: AdmissionTicket; evicted: number }
  | { admitted: false; why: 'per-source' | 'total' };

export class ConnectionAdmission {
  /** Insertion order is age order: the first idle entry found is the oldest. */
  private readonly entries = new Set<Entry>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly limits: AdmissionLimits) {}

  get size(): number {
    return this.entries.size;
  }

  countFrom(source: string): number {
    return this.perSource.get(source) ?? 0;
  }

  /**
   * Admits a connection from `source`, evicting (calling `evict` of) the oldest idle connection of the
   * same source, or overall, when a cap is reached; refuses when everything in the way is active.
   */
  admit(source: string, evict: () => void): AdmissionOutcome {
    let evicted = 0;
    if (this.countFrom(source) >= this.limits.maxPerSource) {
      if (!this.evictOldestIdle((e) => e.source === source)) return { admitted: false, why: 'per-source' };
      evicted++;
    }
    if (this.entries.size >= this.limits.maxConnections) {
      if (!this.evictOldestIdle(() => true)) return { admitted: false, why: 'total' };
      evicted++;
    }
    const entry: Entry = { source, isActive: false, evict, released: false };
    this.entries.add(entry);
    this.perSource.set(source, this.countFrom(source) + 1);
    return {
      admitted: true,
      evicted,
      ticket: {
        active: () => {
          entry.isActive = true;
        },
        release: () => this.release(entry),
      },
    };
  }

  private release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    this.entries.delete(entry);
    const n = this.countFrom(entry.source) - 1;
    if (n > 0) this.perSource.set(entry.source, n);
    else this.perSource.delete(entry.source);
  }

  private evictOldestIdle(match: (e: Entry) => boolean): boolean {
    for (const entry of this.entries) {
      if (entry.isActive || !match(entry)) continue;
      this.release(entry);
      try {
        entry.evict();
      } catch {
        // the connection is gone either way
      }
      return true;
    }
    return false;
  }
}

/**
 * The gateway's kernel records: each kernel's provisioner info (secrets included) and what the API
 * reports of it, kept in one JSON file written atomically (temp file + rename, mode 0600), so a
 * restarted gateway re-attaches to its kernels. A launch is recorded (as an intent, `launching`) before
 * its first Kubernetes object exists, so a gateway killed mid-launch leaves nothing unrecorded.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GpError } from '@gp/core';
import type { KernelResourcesHandle, ProvisionerInfo } from '@gp/launcher';

export interface KernelRecord {
  kernelId: string;
  /** The kernelspec name. */
  name: string;
  /** The request env the kernel was started with (allowed variables only), reused by restarts. */
  env: Record<string, string>;
  provisionerInfo: ProvisionerInfo;
  /** ISO time the kernel was started. */
  started: string;
  /**
   * Objects to delete before the record may go. Set while the kernel is being launched (what the launch will
   * create, written before its first object is: the launch intent), and for a dead kernel whose leftovers
   * could not be deleted. A record carrying it is never re-attached: the gateway (this one, retrying, or the
   * next one at start-up) deletes these objects, then the record.
   */
  launching?: KernelResourcesHandle;
  /** The gateway replica that launched (or is restarting) the kernel (the Kubernetes store; see replica/). */
  replica?: string;
  /**
   * ISO time a restart began (the Kubernetes store): the pod is being replaced, so another replica that sees
   * it gone detaches instead of taking the kernel for dead. Cleared when the restart ends.
   */
  restarting?: string;
}

interface StoreFile {
  version: 1;
  kernels: Record<string, KernelRecord>;
}

export class KernelStoreError extends GpError {
  constructor(path: string, problem: string, cause?: unknown) {
    super('GP_GATEWAY_STATE_FILE', `The gateway's state file ${path} ${problem}. Fix or remove it (kernels it lists are then not re-attached; the orphan sweep reports their pods).`, {
      cause,
      details: { path },
    });
  }
}

/**
 * Where kernel records live: the local file (one gateway) or Kubernetes Secrets (any number of replicas,
 * kube-store.ts). `put` resolves once the record is durable: a launch awaits its intent before creating anything.
 */
export interface KernelStore {
  /** `file`, `memory` or `kubernetes` (logs). */
  readonly kind: string;
  /** Whether other gateway processes share these records (then kernels are adopted, housekeeping is elected). */
  readonly shared: boolean;
  list(): Promise<KernelRecord[]>;
  /** `fresh`: bypass any cache (what another replica wrote a moment ago). */
  get(kernelId: string, options?: { fresh?: boolean }): Promise<KernelRecord | undefined>;
  put(record: KernelRecord): Promise<void>;
  delete(kernelId: string): Promise<void>;
}

/** Keeps records in memory only (persistence disabled). */
export class MemoryKernelStore implements KernelStore {
  readonly kind: string = 'memory';
  readonly shared = false;
  protected readonly records = new Map<string, KernelRecord>();
  async list(): Promise<KernelRecord[]> {
    return [...this.records.values()];
  }
  async get(kernelId: string): Promise<KernelRecord | undefined> {
    return this.records.get(kernelId);
  }
  async put(record: KernelRecord): Promise<void> {
    this.records.set(record.kernelId, record);
  }
  async delete(kernelId: string): Promise<void> {
    this.records.delete(kernelId);
  }
}

/** Records in a JSON file, rewritten whole on each change (a handful of kernels: small). */
export class FileKernelStore extends MemoryKernelStore {
  override readonly kind = 'file';
  constructor(readonly path: string) {
    super();
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new KernelStoreError(path, 'cannot be read', e);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new KernelStoreError(path, 'is not valid JSON', e);
    }
    const kernels = (data as Partial<StoreFile> | null)?.kernels;
    if ((data as Partial<StoreFile> | null)?.version !== 1 || kernels === null || typeof kernels !== 'object') {
      throw new KernelStoreError(path, 'is not a gp-gateway state file (expected {"version": 1, "kernels": {...}})');
    }
    for (const [id, record] of Object.entries(kernels)) {
      if (record && typeof record === 'object' && record.kernelId === id && record.provisionerInfo) this.records.set(id, record);
      else throw new KernelStoreError(path, `has a malformed record for kernel ${id}`);
    }
  }

  override async put(record: KernelRecord): Promise<void> {
    this.records.set(record.kernelId, record);
    this.flush();
  }

  override async delete(kernelId: string): Promise<void> {
    if (!this.records.delete(kernelId)) return;
    this.flush();
  }

  private flush(): void {
    const data: StoreFile = { version: 1, kernels: Object.fromEntries(this.records) };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(data, null, 1), { mode: 0o600 });
    renameSync(temp, this.path); // atomic on one filesystem: readers see the old file or the new one
  }
}

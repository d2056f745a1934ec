/**
 * What the watch k8s tests need from the test control plane: a KubeConfig for an admin, a way to
 * register process-node images, and the shared data directory.
 *
 * INTERIM: until @gp/testkit exports its cluster API, this reads a cluster started by hand:
 * GP_WATCH_TEST_KUBECONFIG (admin kubeconfig) and GP_WATCH_TEST_IMAGES (the process node's image table).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';

export interface ImageEntry {
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
}

const here = dirname(fileURLToPath(import.meta.url));

export const TESTKIT = {
  sharedDir: resolve(here, '../../../../../shared'),

  async kubeConfig(): Promise<KubeConfig> {
    const path = process.env.GP_WATCH_TEST_KUBECONFIG;
    if (!path) throw new Error('GP_WATCH_TEST_KUBECONFIG is not set (interim until @gp/testkit exports the cluster)');
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return kc;
  },

  async registerImages(images: Record<string, ImageEntry>): Promise<void> {
    const path = process.env.GP_WATCH_TEST_IMAGES;
    if (!path) throw new Error('GP_WATCH_TEST_IMAGES is not set (interim until @gp/testkit exports the cluster)');
    let table: Record<string, ImageEntry> = {};
    try {
      table = JSON.parse(readFileSync(path, 'utf8')) as Record<string, ImageEntry>;
    } catch {
      table = {};
    }
    const tmp = join(dirname(path), `.images-${process.pid}.json`);
    writeFileSync(tmp, JSON.stringify({ ...table, ...images }, null, 2));
    renameSync(tmp, path);
  },
};

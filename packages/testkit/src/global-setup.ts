// Vitest global setup for the `k8s` project: starts the test control plane. Placeholder until issue #3 lands.
export default async function setup(): Promise<void> {}

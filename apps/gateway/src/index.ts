// @gp/gateway: a Jupyter kernel gateway serving kernels as Kubernetes pods.
export {};

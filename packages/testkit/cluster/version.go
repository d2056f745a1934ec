package main

// kubernetesVersion is the k8s.io/kubernetes release this binary is built from (go.mod).
const kubernetesVersion = "v1.36.3"

// Command gp-testcluster runs the pieces of gp's test control plane from one binary:
// etcd (embedded), kube-apiserver, kube-controller-manager, kube-scheduler (the real
// upstream commands), a certificate generator and the process node (a tiny kubelet
// stand-in that runs pods as local processes).
package main

import (
	"fmt"
	"os"
	"syscall"

	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const usage = `usage: gp-testcluster <command> [flags]

commands:
  etcd                     run an embedded etcd (flags: --data-dir, --client-url, --peer-url)
  kube-apiserver           run the Kubernetes API server
  kube-controller-manager  run the Kubernetes controller manager
  kube-scheduler           run the Kubernetes scheduler
  certs                    generate the CA, serving and client certificates (flags: --dir)
  process-node             run the process node (flags: see --help)
  pod-init                 set the hostname of a new UTS namespace, then exec a pod's command (used by the node)
  version                  print the Kubernetes version this binary was built from
`

func main() {
	// Started by the testkit: die with the process that started us, so a killed test
	// run leaves no control plane behind.
	if os.Getenv("GP_TESTCLUSTER_PDEATHSIG") == "1" {
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
		if os.Getppid() == 1 {
			os.Exit(1)
		}
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	os.Args = append([]string{"gp-testcluster " + name}, args...)
	switch name {
	case "etcd":
		os.Exit(runEtcd(args))
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "certs":
		os.Exit(runCerts(args))
	case "process-node":
		os.Exit(runProcessNode(args))
	case "pod-init":
		os.Exit(runPodInit(args))
	case "version":
		fmt.Println(kubernetesVersion)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
}

package main

// pod-init: how the process node gives each pod process its own hostname, as a container
// runtime does. The node starts `gp-testcluster pod-init --hostname H -- PATH ARGV...` in a new
// UTS namespace (CLONE_NEWUTS, which needs root); pod-init sets the namespace's hostname and
// execs the container's command in place (same pid, same process group, the parent-death
// signal kept), so nothing else about the process changes.

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// maxHostnameLength is the kernel's (and Kubernetes') limit on a hostname.
const maxHostnameLength = 63

// podHostname is the hostname Kubernetes gives a pod's containers: spec.hostname when set,
// else the pod's name, cut to 63 characters without a trailing '-' or '.'.
func podHostname(name, specHostname string) string {
	h := specHostname
	if h == "" {
		h = name
	}
	if len(h) > maxHostnameLength {
		h = strings.TrimRight(h[:maxHostnameLength], "-.")
	}
	return h
}

func runPodInit(args []string) int {
	if len(args) < 4 || args[0] != "--hostname" || args[2] != "--" {
		fmt.Fprintln(os.Stderr, "usage: gp-testcluster pod-init --hostname NAME -- PATH ARGV0 [ARGS...]")
		return 2
	}
	hostname, path, argv := args[1], args[3], args[4:]
	if len(argv) == 0 {
		argv = []string{path}
	}
	if err := syscall.Sethostname([]byte(hostname)); err != nil {
		fmt.Fprintf(os.Stderr, "pod-init: cannot set the hostname %q: %v\n", hostname, err)
		return 126
	}
	err := syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "exec %s: %v\n", path, err)
	return 127
}

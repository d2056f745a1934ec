package main

// pod-init: how the process node gives each pod process its own hostname, as a container
// runtime does. The node starts `gp-testcluster pod-init --hostname H -- PATH ARGV...` in a new
// UTS namespace (CLONE_NEWUTS, which needs root); pod-init sets the namespace's hostname and
// execs the container's command in place (same pid, same process group, the parent-death
// signal kept), so nothing else about the process changes.
//
// fd 3 is a pipe to the node, marked close-on-exec here: the node reads it to its end, so it knows
// the container's own command runs (the exec closed the pipe) before it reports the container
// started, or reads why it could not start.

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
	status := os.NewFile(3, "pod-init-status")
	syscall.CloseOnExec(3)
	fail := func(code int, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		if status != nil {
			_, _ = status.WriteString(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		return code
	}
	if err := syscall.Sethostname([]byte(hostname)); err != nil {
		return fail(126, "pod-init: cannot set the hostname %q: %v", hostname, err)
	}
	err := syscall.Exec(path, argv, os.Environ())
	return fail(127, "exec %s: %v", path, err)
}

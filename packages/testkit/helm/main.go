// Command helm is the upstream Helm CLI (helm.sh/helm/v4), built from its Go module so that the tests of
// gp's Helm chart render, lint and template with the real thing rather than a reimplementation.
// The testkit builds it on first use into its cache (see packages/testkit/src/helm.ts).
package main

import (
	"errors"
	"fmt"
	"os"

	helmcmd "helm.sh/helm/v4/pkg/cmd"
)

func main() {
	root, err := helmcmd.NewRootCmd(os.Stdout, os.Args[1:], helmcmd.SetupLogging)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	if err := root.Execute(); err != nil {
		var cmdErr helmcmd.CommandError
		if errors.As(err, &cmdErr) {
			os.Exit(cmdErr.ExitCode)
		}
		os.Exit(1)
	}
}

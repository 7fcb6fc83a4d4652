// Command kube-apiserver runs the Kubernetes API server of the pinned k8s.io/kubernetes release,
// for the test suite's loopback control plane.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}

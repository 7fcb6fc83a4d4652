// Command kube-controller-manager runs the controller manager of the pinned k8s.io/kubernetes
// release (garbage collector, namespace controller, ...) for the test suite's control plane.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}

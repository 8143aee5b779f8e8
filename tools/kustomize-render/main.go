// kustomize-render prints the resources of one kustomization directory as a YAML stream, as
// `kustomize build DIR` does, using the kustomize API as a library (pinned in go.mod) so the
// tests need no kustomize or kubectl binary, only the Go module proxy.
//
//	kustomize-render DIR > rendered.yaml
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kustomize-render DIR")
		os.Exit(2)
	}
	// The defaults of `kustomize build`: files may be read only from inside the kustomization
	// tree being built, as a cluster's `kubectl apply -k` would enforce too.
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(filesys.MakeFsOnDisk(), os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-render %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out, err := resources.AsYaml()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-render %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

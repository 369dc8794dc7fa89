// Command etcd is the etcd server, pinned to the version Gatehouse is
// tested against, built from the Go module proxy for make cluster (its own
// module, so that the server's dependencies stay out of Gatehouse's).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }

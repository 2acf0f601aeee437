package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time (the Dockerfile passes
// -ldflags "-X main.version=..."); a plain go build says "dev" and the
// commit Go recorded, if any.
var version = "dev"

// printVersion prints tradeflow's version, the Go toolchain and the goka,
// sarama and franz-go versions it was built with.
func printVersion(w io.Writer) {
	v, commit := version, ""
	deps := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
		for _, d := range info.Deps {
			deps[d.Path] = d.Version
		}
	}
	if commit != "" {
		v += " (" + commit + ")"
	}
	fmt.Fprintf(w, "tradeflow %s\n", v)
	fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, p := range []string{"github.com/lovoo/goka", "github.com/IBM/sarama", "github.com/twmb/franz-go"} {
		fmt.Fprintf(w, "%s %s\n", p, deps[p])
	}
}

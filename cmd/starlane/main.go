// Command starlane runs every part of a Starlane cluster: the controller, worker nodes,
// the local dev cluster, operator commands, lockstep clients and the benchmark.
package main

import (
	"errors"
	"fmt"
	"os"

	// The generated megabase maps register themselves with sim's built-in maps.
	_ "github.com/starlane/starlane/sim/megabase"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "starlane:", err)
		os.Exit(1)
	}
}

// exitError carries an exit code for failures that have already been reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

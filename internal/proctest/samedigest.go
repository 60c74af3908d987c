package proctest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// SameAcrossProcesses runs the test childTest of this test binary in child
// processes with GOMAXPROCS 1 and 2, with env set to ticks, and checks that
// each prints "DIGEST <want>": the simulation's hashes must not depend on the
// process or the number of threads. The child test prints its digest when env
// is set and does nothing otherwise.
func SameAcrossProcesses(t *testing.T, childTest, env string, ticks int, want string) {
	t.Helper()
	for _, procs := range []int{1, 2} {
		cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), env+"="+strconv.Itoa(ticks), "GOMAXPROCS="+strconv.Itoa(procs))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child with GOMAXPROCS=%d: %v\n%s", procs, err, out)
		}
		got := ""
		for _, line := range strings.Split(string(out), "\n") {
			if d, ok := strings.CutPrefix(line, "DIGEST "); ok {
				got = strings.Fields(d)[0]
			}
		}
		if got != want {
			t.Errorf("GOMAXPROCS=%d: hash sequence digest %s, this process %s\n%s", procs, got, want, out)
		}
	}
}

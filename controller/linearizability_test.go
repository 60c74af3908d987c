package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The surface catalog as a register per surface name: 0 = absent, otherwise the
// replica count.
type catInput struct {
	op       string // create, delete, replicas, get
	name     string
	replicas uint32
}

type catOutput struct {
	ok       bool   // create/delete/replicas applied; get found the surface
	replicas uint32 // get
	unknown  bool   // the call's outcome is unknown (every retry timed out)
}

var catalogModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			n := op.Input.(catInput).name
			by[n] = append(by[n], op)
		}
		keys := make([]string, 0, len(by))
		for k := range by {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() interface{} { return uint32(0) },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in, out := state.(uint32), input.(catInput), output.(catOutput)
		switch in.op {
		case "create":
			if st == 0 {
				return out.ok || out.unknown, in.replicas
			}
			return !out.ok || out.unknown, st
		case "delete":
			if st != 0 {
				return out.ok || out.unknown, uint32(0)
			}
			return !out.ok || out.unknown, st
		case "replicas":
			if st != 0 {
				return out.ok || out.unknown, in.replicas
			}
			return !out.ok || out.unknown, st
		case "get":
			if st == 0 {
				return !out.ok, st
			}
			return out.ok && out.replicas == st, st
		}
		return false, st
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(catInput), output.(catOutput)
		res := fmt.Sprintf("ok=%v", out.ok)
		if out.unknown {
			res = "unknown"
		} else if in.op == "get" && out.ok {
			res = fmt.Sprintf("replicas=%d", out.replicas)
		}
		return fmt.Sprintf("%s(%s,%d) -> %s", in.op, in.name, in.replicas, res)
	},
}

// TestLinearizableCatalog records a history of surface catalog calls from
// concurrent clients while the leader is killed and restarted or cut off, and
// checks it with porcupine: every completed call, and every call whose outcome
// is unknown, must fit one sequential order consistent with real time.
func TestLinearizableCatalog(t *testing.T) {
	t.Parallel()
	run := 10 * time.Second
	if testing.Short() {
		run = 4 * time.Second
	}
	tc := newCluster(t, 3, true, nil)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	start := time.Now()
	var (
		hmu     sync.Mutex
		history []porcupine.Operation
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	names := []string{"nauvis", "gleba", "fulgora"}
	for w := 0; w < 4; w++ {
		cl := tc.client()
		cl.AttemptTimeout = time.Second
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := catInput{name: names[rng.IntN(len(names))]}
				switch rng.IntN(8) {
				case 0, 1:
					in.op, in.replicas = "create", uint32(1+rng.IntN(3))
				case 2:
					in.op = "delete"
				case 3, 4:
					in.op, in.replicas = "replicas", uint32(1+rng.IntN(3))
				default:
					in.op = "get"
				}
				call := time.Since(start).Nanoseconds()
				out, err := catalogCall(cl, in)
				ret := time.Since(start).Nanoseconds()
				if err != nil {
					if in.op == "get" {
						continue // a read with no answer has no effect
					}
					out, ret = catOutput{unknown: true}, math.MaxInt64
				}
				hmu.Lock()
				history = append(history, porcupine.Operation{ClientId: w, Input: in, Call: call, Output: out, Return: ret})
				hmu.Unlock()
			}
		}()
	}

	rng := rand.New(rand.NewPCG(seed, 99))
	leaderChanges := 0
	completed := func() int {
		hmu.Lock()
		defer hmu.Unlock()
		n := 0
		for _, op := range history {
			if !op.Output.(catOutput).unknown {
				n++
			}
		}
		return n
	}
	// The disruptions go on for run, and on a loaded machine until the history is
	// thick enough to check (up to a minute more).
	hard := time.Now().Add(run + time.Minute)
	for deadline := time.Now().Add(run); time.Now().Before(deadline) || (completed() < 100 || leaderChanges < 2) && time.Now().Before(hard); {
		time.Sleep(time.Duration(300+rng.IntN(400)) * time.Millisecond)
		l := tc.leader()
		if l < 0 {
			continue
		}
		if rng.IntN(2) == 0 {
			tc.kill(l)
			time.Sleep(time.Duration(200+rng.IntN(400)) * time.Millisecond)
			tc.start(l)
		} else {
			tc.partition(l)
			time.Sleep(time.Duration(400+rng.IntN(400)) * time.Millisecond)
			tc.heal()
		}
		leaderChanges++
	}
	close(stop)
	wg.Wait()

	hmu.Lock()
	defer hmu.Unlock()
	done, unknown := 0, 0
	for _, op := range history {
		if op.Output.(catOutput).unknown {
			unknown++
		} else {
			done++
		}
	}
	t.Logf("%d calls completed, %d with unknown outcome, %d leader disruptions", done, unknown, leaderChanges)
	if done < 100 || leaderChanges < 2 {
		t.Fatalf("history too thin to mean anything: %d completed calls, %d disruptions", done, leaderChanges)
	}
	res, info := porcupine.CheckOperationsVerbose(catalogModel, history, 2*time.Minute)
	if res != porcupine.Ok {
		file := filepath.Join(os.TempDir(), fmt.Sprintf("starlane-linearizability-%d.html", seed))
		if f, err := os.Create(file); err == nil {
			porcupine.Visualize(catalogModel, info, f)
			f.Close()
		}
		t.Fatalf("history is not linearizable (%v); visualization in %s", res, file)
	}
}

// catalogCall makes one logical call, retrying across controllers with one
// request ID until it has a definite answer or 5 s pass.
func catalogCall(cl *ctlclient.Client, in catInput) (catOutput, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rid := ctlclient.NewRequestID()
	var out catOutput
	err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		switch in.op {
		case "create":
			_, err = c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: rid, Name: in.name, Replicas: in.replicas})
		case "delete":
			_, err = c.DeleteSurface(ctx, &pb.DeleteSurfaceRequest{RequestId: rid, Name: in.name})
		case "replicas":
			_, err = c.SetSurfaceReplicas(ctx, &pb.SetSurfaceReplicasRequest{RequestId: rid, Name: in.name, Replicas: in.replicas})
		case "get":
			var r *pb.GetSurfaceResponse
			r, err = c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: in.name})
			if err == nil {
				out.replicas = r.Surface.Replicas
			}
		}
		return err
	})
	switch status.Code(err) {
	case codes.OK:
		out.ok = true
		return out, nil
	case codes.NotFound, codes.AlreadyExists:
		return out, nil
	}
	if err == nil {
		err = errors.New("no answer")
	}
	return out, err
}

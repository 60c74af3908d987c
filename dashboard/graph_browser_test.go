package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestBridgeGraphNodesDoNotOverlap opens the bridges page in headless chromium
// with 3, 14 and 40 surfaces (some with long names) and checks what a user sees
// of the graph: no two surfaces' circles overlap, no two surfaces' labels
// overlap, and every surface is inside the picture. With 14 surfaces the ring
// of the first layout put neighbours 59 px apart, closer than a circle is wide.
// A screenshot of each goes to the test's artifact directory (go test
// -artifacts).
func TestBridgeGraphNodesDoNotOverlap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium; run without -short")
	}
	_, cl, srv := startController(t)

	ctx := startBrowser(t, 3*time.Minute)
	eval := func(expr string, v any) error {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, v)
	}

	var names []string
	create := func(n int) {
		t.Helper()
		for len(names) < n {
			name := fmt.Sprintf("outpost-%02d", len(names)+1)
			if len(names)%7 == 3 {
				name = fmt.Sprintf("vulcanus-foundry-%02d", len(names)+1) // longer labels need more room
			}
			if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
				_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name, Map: "empty", Replicas: 1})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(names) > 0 {
				from := names[len(names)-1]
				if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					_, err := c.CreateBridge(ctx, &pb.CreateBridgeRequest{RequestId: ctlclient.NewRequestID(),
						Bridge: &pb.Bridge{Id: from + "-to-" + name, FromSurface: from, FromPort: "out", ToSurface: name, ToPort: "in"}})
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			names = append(names, name)
		}
	}
	for _, n := range []int{3, 14, 40} {
		create(n)
		if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/bridges")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var shown int
			if err := eval(`document.querySelectorAll("#bridge-graph g.surface").length`, &shown); err == nil && shown == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the graph shows %d surfaces after 30 s, want %d", shown, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var bad []string
		if err := eval(`(() => {
			const box = document.querySelector("#bridge-graph").getBoundingClientRect();
			const nodes = [...document.querySelectorAll("#bridge-graph g.surface")].map((g) => {
				const c = g.querySelector("circle").getBoundingClientRect();
				const ts = [...g.querySelectorAll("text")].map((t) => t.getBoundingClientRect());
				const all = g.getBoundingClientRect();
				return { name: g.dataset.surface, cx: (c.left + c.right) / 2, cy: (c.top + c.bottom) / 2, r: c.width / 2,
					l: Math.min(...ts.map((r) => r.left)), r2: Math.max(...ts.map((r) => r.right)),
					t: Math.min(...ts.map((r) => r.top)), b: Math.max(...ts.map((r) => r.bottom)),
					inside: all.left >= box.left - 1 && all.right <= box.right + 1 && all.top >= box.top - 1 && all.bottom <= box.bottom + 1 };
			});
			const bad = [];
			for (let i = 0; i < nodes.length; i++) {
				const a = nodes[i];
				if (!a.inside) bad.push(a.name + " is cut off at the picture's edge");
				for (let j = i + 1; j < nodes.length; j++) {
					const b = nodes[j];
					const d = Math.hypot(a.cx - b.cx, a.cy - b.cy);
					if (d < a.r + b.r) bad.push(a.name + " and " + b.name + ": circles overlap (" + d.toFixed(0) + " px apart, radii " + a.r.toFixed(0) + ")");
					if (a.l < b.r2 && b.l < a.r2 && a.t < b.b && b.t < a.b) bad.push(a.name + " and " + b.name + ": labels overlap");
				}
			}
			return bad;
		})()`, &bad); err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Errorf("with %d surfaces, %d problems in the bridge graph:\n%s", n, len(bad), strings.Join(bad[:min(len(bad), 10)], "\n"))
		}
		if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(filepath.Join(t.ArtifactDir(), fmt.Sprintf("bridges-%d.png", n)), buf, 0o644)
		}
	}
}

// startBrowser starts headless chromium for a browser test and returns a
// context on it with the given deadline; everything stops when the test ends.
// A missing chromium fails the test with how to install it.
func startBrowser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	chrome := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chrome = p
			break
		}
	}
	if chrome == "" {
		t.Fatal("chromium is not installed: `apt-get install chromium` (CI's .ci/run installs it); run with -short to skip browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser, on a context without a deadline
		t.Fatalf("start chromium %s: %v", chrome, err)
	}
	ctx, cancel := context.WithTimeout(bctx, limit)
	t.Cleanup(cancel)
	return ctx
}

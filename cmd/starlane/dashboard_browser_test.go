package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starlane/starlane/internal/devcluster"
	"github.com/starlane/starlane/internal/proctest"
)

// loadAvg is the machine's load average, for messages about slow runs.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:min(3, len(strings.Fields(string(b))))], " ")
}

// chromiumPath finds Debian's chromium (CI installs it in .ci/run).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDashboardInBrowser runs `starlane dev --small` (a controller and two nodes as real
// processes) and drives its dashboard in headless chromium: the cluster page shows
// the controller and both nodes, the surfaces page three surfaces whose ticks
// advance, the bridges page three bridges in the graph, the map of nauvis the starter
// factory's plate belt in transport-belt's map colour where it lies, and after the
// node running nauvis is killed the events page shows its standby promoted within
// 5 s. Screenshots of each page go to the test's artifact directory (go test
// -artifacts) and, with STARLANE_SCREENSHOTS=DIR, to DIR as well.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev cluster and chromium; run without -short")
	}
	chrome := chromiumPath()
	if chrome == "" {
		t.Fatal("chromium is not installed: `apt-get install chromium` (CI's .ci/run installs it); run with -short to skip browser tests")
	}
	dir := t.TempDir()
	bin, err := proctest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "dev")
	proctest.Start(t, "dev", bin, filepath.Join(dir, "dev.log"), "dev", "--small", "--data-dir", data, "--port", "0", "--log-level", "warn")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "logs", "controller.log"))
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("the controller's log ends:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	var info devcluster.Info
	proctest.Eventually(t, 120*time.Second, "starlane dev to write cluster.json", func() bool {
		b, err := os.ReadFile(filepath.Join(data, "cluster.json"))
		return err == nil && json.Unmarshal(b, &info) == nil && info.Dashboard != ""
	})
	cli := func(args ...string) (string, string, int) {
		return proctest.Run(t, bin, 60*time.Second, append(args, "--controller", info.Controller)...)
	}
	// A standby for nauvis, so that losing its node is a failover.
	if out, errOut, code := cli("surface", "replicas", "nauvis", "2"); code != 0 {
		t.Fatalf("surface replicas: exit %d\n%s%s", code, out, errOut)
	}

	shots := []string{t.ArtifactDir()}
	if d := os.Getenv("STARLANE_SCREENSHOTS"); d != "" {
		shots = append(shots, d)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	// The first run starts the browser, on a context without a deadline (a deadline
	// there would stop the browser); later runs may carry one.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", chrome, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 6*time.Minute)
	defer cancel()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// eval evaluates a JavaScript expression (awaiting a promise) into v.
	eval := func(expr string, v any) error {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, v)
	}
	// waitJS waits until a JavaScript expression is true.
	waitJS := func(limit time.Duration, what, expr string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			var ok bool
			if err := eval(expr, &ok); err == nil && ok {
				return time.Since(start)
			}
			if time.Since(start) > limit {
				var shown string
				eval(`document.querySelector("main").innerText.slice(0, 800)`, &shown)
				t.Fatalf("waited %v for %s (%s); load average %s; the page shows:\n%s", limit, what, expr, loadAvg(), shown)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	shoot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, d := range shots {
			if err := os.WriteFile(filepath.Join(d, name+".png"), buf, 0o644); err != nil {
				t.Errorf("write screenshot: %v", err)
			}
		}
	}
	rows := func(sel string) string { return fmt.Sprintf("document.querySelectorAll(%q).length", sel) }

	// Without TLS the dashboard shows what a read token may see, so it asks for
	// one first: log in with a token of role read.
	viewer, errOut, code := cli("token", "create", "--role", "read", "--name", "viewer")
	if code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errOut)
	}
	run("open the dashboard", chromedp.Navigate(info.Dashboard))
	waitJS(30*time.Second, "the login page", `!!document.querySelector("form[action='/login'] #token") && !document.querySelector("#nodes")`)
	var submitted bool
	if err := eval(fmt.Sprintf(`(() => { document.querySelector("#token").value = %q; document.querySelector("form").submit(); return true })()`, strings.TrimSpace(viewer)), &submitted); err != nil {
		t.Fatal(err)
	}
	waitJS(30*time.Second, "the cluster page after logging in", `!!document.querySelector("#live")`)

	// Cluster: the controller is the leader; both nodes are up.
	run("open the cluster page", chromedp.Navigate(info.Dashboard))
	waitJS(30*time.Second, "the live stream", `document.querySelector("#live").textContent === "live"`)
	waitJS(30*time.Second, "two nodes up and a leader", rows(`#nodes td.status.up`)+` === 2 && `+rows(`#controllers td.role.leader`)+` === 1`)
	shoot("cluster")

	// Surfaces: three, ticking, with nauvis's new standby in sync before its node is killed.
	run("open the surfaces page", chromedp.Navigate(strings.TrimSuffix(info.Dashboard, "/")+"/surfaces"))
	waitJS(30*time.Second, "three surfaces", rows(`#surfaces tbody tr[data-surface]`)+` === 3`)
	tickOf := func(name string) uint64 {
		var s string
		if err := eval(fmt.Sprintf(`document.querySelector('#surfaces tr[data-surface=%q] td.tick').textContent`, name), &s); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		return n
	}
	t0 := tickOf("nauvis")
	waitJS(30*time.Second, "nauvis's tick to advance on the page",
		fmt.Sprintf(`+document.querySelector('#surfaces tr[data-surface="nauvis"] td.tick').textContent > %d + 60`, t0))
	waitJS(90*time.Second, "nauvis's standby to be in sync",
		`document.querySelector('#surfaces tr[data-surface="nauvis"]').textContent.includes("✓")`)
	waitJS(30*time.Second, "UPS sparklines", rows(`#surfaces svg.sparkline polyline`)+` === 3`)
	shoot("surfaces")

	// Bridges: three arrows in the graph and three rows.
	run("open the bridges page", chromedp.Navigate(strings.TrimSuffix(info.Dashboard, "/")+"/bridges"))
	waitJS(30*time.Second, "three bridges", rows(`#bridge-graph g.bridge`)+` === 3 && `+rows(`#bridges tbody tr[data-bridge]`)+` === 3 && `+rows(`#bridge-graph g.surface`)+` === 3`)
	shoot("bridges")

	// Map: the starter's plate belt runs east along y = 0 from x = 0 to 19. At the
	// map's default 8 px/tile, tile 5,0 is pixels 40-47 × 0-7 of image 8/0/0; its
	// corner pixel is belt (items are drawn inside a margin).
	run("open the map of nauvis", chromedp.Navigate(strings.TrimSuffix(info.Dashboard, "/")+"/map?surface=nauvis"))
	waitJS(30*time.Second, "the map tile holding the plate belt",
		`(() => { const i = document.querySelector('#map-tiles img[data-key="8/0/0"]'); return !!i && i.complete && i.naturalWidth === 256 })()`)
	var px []int
	if err := eval(`(() => {
		const i = document.querySelector('#map-tiles img[data-key="8/0/0"]');
		const c = document.createElement("canvas"); c.width = 256; c.height = 256;
		const g = c.getContext("2d"); g.drawImage(i, 0, 0);
		return Array.from(g.getImageData(40, 0, 1, 1).data);
	})()`, &px); err != nil {
		t.Fatal(err)
	}
	if want := []int{204, 161, 71, 255}; fmt.Sprint(px) != fmt.Sprint(want) {
		t.Errorf("map pixel of belt tile 5,0 is %v, want transport-belt's map colour %v", px, want)
	}
	waitJS(30*time.Second, "every map tile in view to load",
		`[...document.querySelectorAll('#map-tiles img')].every(i => i.complete && i.naturalWidth === 256)`)
	shoot("map")

	// The CLI draws the same map to a file.
	out := filepath.Join(dir, "nauvis.png")
	if o, e, code := cli("surface", "map", "nauvis", "--area", "0,-2,19,2", "--scale", "1", "--out", out); code != 0 {
		t.Fatalf("surface map: exit %d\n%s%s", code, o, e)
	}
	f, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatalf("surface map wrote no PNG: %v", err)
	}
	if r, g, b, _ := img.At(5, 2).RGBA(); r>>8 != 204 || g>>8 != 161 || b>>8 != 71 {
		t.Errorf("surface map: pixel of belt tile 5,0 is %d,%d,%d, want 204,161,71", r>>8, g>>8, b>>8)
	}
	for _, bad := range [][]string{
		{"surface", "map", "nauvis", "--area", "1,2,3", "--out", out},
		{"surface", "map", "nauvis", "--area", "0,0,9999,9999", "--scale", "4", "--out", out},
		{"surface", "map", "no-such-surface", "--area", "0,0,1,1", "--out", out, "--timeout", "5s"},
	} {
		if o, e, code := cli(bad...); code != 1 || !strings.Contains(e, "starlane: ") || strings.Contains(e, "goroutine") {
			t.Errorf("starlane %s: exit %d, want 1 with a clear message\n%s%s", strings.Join(bad, " "), code, o, e)
		}
	}

	// Failover: kill the node running nauvis; the events page shows the promotion.
	run("open the events page", chromedp.Navigate(strings.TrimSuffix(info.Dashboard, "/")+"/events"))
	waitJS(30*time.Second, "the live stream", `document.querySelector("#live").textContent === "live"`)
	var primary string
	if err := eval(`fetch("/api/state").then(r => r.json()).then(j => j.state.surfaces.find(s => s.name === "nauvis").node)`, &primary); err != nil || primary == "" {
		t.Fatalf("nauvis's node: %q, %v", primary, err)
	}
	b, _ := os.ReadFile(filepath.Join(data, "cluster.json"))
	json.Unmarshal(b, &info)
	pid := info.PIDs[primary]
	if pid == 0 {
		t.Fatalf("no pid for node %s in cluster.json", primary)
	}
	before := 0
	eval(rows(`#events li[data-kind="surface.promoted"]`), &before)
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Wait longer than the 5 s allowed, so that a slow run says where the time went:
	// in the cluster's failover (kill to commit) or on the way to the page.
	took := waitJS(30*time.Second, "the failover event on the events page",
		rows(`#events li[data-kind="surface.promoted"]`)+fmt.Sprintf(" > %d", before))
	var committedMS int64
	eval(`fetch("/api/state").then(r => r.json()).then(j => j.events.filter(e => e.kind === "surface.promoted").pop().unix_ms)`, &committedMS)
	commit := time.UnixMilli(committedMS).Sub(killed)
	t.Logf("killed node %s (pid %d); the failover was committed %v later and shown on the page %v after the kill",
		primary, pid, commit.Round(time.Millisecond), took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the failover event reached the page %v after the kill, want ≤ 5 s (committed after %v; load average %s)", took.Round(time.Millisecond), commit.Round(time.Millisecond), loadAvg())
	}
	shoot("events")

	// An operator action from the page: cordon the node that took nauvis over and
	// see the controller's answer in the node's status, then uncordon it.
	var other string
	if err := eval(`fetch("/api/state").then(r => r.json()).then(j => j.state.surfaces.find(s => s.name === "nauvis").node)`, &other); err != nil || other == "" {
		t.Fatalf("nauvis's node after failover: %q, %v", other, err)
	}
	run("open the cluster page", chromedp.Navigate(info.Dashboard))
	button := func(on string) string {
		return fmt.Sprintf(`#nodes tr[data-node=%q] button[data-action="cordon"][data-on=%q]`, other, on)
	}
	waitJS(30*time.Second, "the cordon button of "+other, rows(button("1"))+" === 1")
	click := func(sel string) {
		t.Helper()
		var ok bool
		if err := eval(fmt.Sprintf(`(() => { const b = document.querySelector(%q); if (b) b.click(); return !!b })()`, sel), &ok); err != nil || !ok {
			t.Fatalf("click %s: %v (found: %v)", sel, err, ok)
		}
	}
	status := fmt.Sprintf(`document.querySelector('#nodes tr[data-node=%q] td.status').textContent`, other)
	// With the login's read token the page's action is refused by the
	// controller, saying what to paste; with dev's admin token in the page's
	// token field it goes through.
	click(button("1"))
	waitJS(15*time.Second, "the refusal of a cordon with a read token", `document.querySelector("#toast").textContent.includes("has role read") && document.querySelector("#toast").textContent.includes("operator token")`)
	if info.Token == "" {
		t.Fatal("dev wrote no admin token to cluster.json")
	}
	var set bool
	if err := eval(fmt.Sprintf(`(() => { localStorage.setItem("starlane-token", %q); return true })()`, info.Token), &set); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ button, what, want string }{
		{button("1"), other + " shown cordoned", status + `.includes("cordoned")`},
		{button("0"), other + " shown uncordoned", "!" + status + `.includes("cordoned")`},
	} {
		click(step.button)
		start := time.Now()
		for {
			var done bool
			if err := eval(step.want, &done); err == nil && done {
				break
			}
			if time.Since(start) > 15*time.Second {
				var toast, direct string
				eval(`document.querySelector("#toast").textContent`, &toast)
				eval(fmt.Sprintf(`(async () => { const t0 = performance.now();
					const r = await fetch("/api/actions/cordon", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({node: %q, cordoned: true})});
					return r.status + " " + await r.text() + " in " + Math.round(performance.now() - t0) + " ms" })()`, other), &direct)
				t.Fatalf("waited 15s for %s; the page said %q; a direct POST from the page got %s", step.what, toast, direct)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

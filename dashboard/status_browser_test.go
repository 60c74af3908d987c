package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// failedAndStopped makes a cluster with a stopped surface (gleba) and one whose
// store its node reports corrupt (nauvis on n1), and waits until the dashboard's
// state shows both.
func failedAndStopped(t *testing.T) *httptest.Server {
	t.Helper()
	_, cl, srv := startController(t)
	ctx := context.Background()
	call := func(what string, fn func(ctx context.Context, c pb.ClusterServiceClient) error) {
		t.Helper()
		if err := cl.Cluster(ctx, fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// With no node yet, gleba runs nowhere and stops at once.
	call("create gleba", func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "gleba", Map: "empty", Replicas: 1})
		return err
	})
	call("stop gleba", func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.StopSurface(ctx, &pb.StopSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "gleba"})
		return err
	})
	heartbeatWithError(t, cl, "n1", "store corrupt: checksum mismatch in frame 12")
	call("create nauvis", func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis", Map: "starter", Replicas: 1})
		return err
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := map[string]Surface{}
		if resp, err := http.Get(srv.URL + "/api/state"); err == nil {
			var body struct{ State Snapshot }
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			for _, s := range body.State.Surfaces {
				got[s.Name] = s
			}
		}
		if got["nauvis"].Status == "failed: store corrupt on n1" && got["gleba"].Status == "stopped" &&
			!got["nauvis"].Healthy && !got["gleba"].Healthy {
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s /api/state shows nauvis %q (healthy %v) and gleba %q (healthy %v), want \"failed: store corrupt on n1\" and \"stopped\", neither healthy",
				got["nauvis"].Status, got["nauvis"].Healthy, got["gleba"].Status, got["gleba"].Healthy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The surfaces page, as served (no JavaScript), shows each surface's status.
func TestSurfacesPageShowsStatus(t *testing.T) {
	srv := failedAndStopped(t)
	resp, err := http.Get(srv.URL + "/surfaces")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<td class="status attention">failed: store corrupt on n1</td>`, `<td class="status attention">stopped</td>`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the surfaces page does not show %s", want)
		}
	}
}

// In chromium, the live surfaces page shows a failed and a stopped surface's status,
// highlighted.
func TestSurfacesPageShowsStatusInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium; run without -short")
	}
	srv := failedAndStopped(t)

	ctx := startBrowser(t, 2*time.Minute)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/surfaces")); err != nil {
		t.Fatal(err)
	}
	// What a user sees in each row's status cell, once the live stream has
	// redrawn the table, and whether it stands out from a healthy one.
	type cell struct {
		Text  string `json:"text"`
		Class string `json:"class"`
		Bg    string `json:"bg"`
		Live  bool   `json:"live"`
	}
	var got map[string]cell
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`(() => {
			const out = {};
			for (const tr of document.querySelectorAll("#surfaces tbody tr[data-surface]")) {
				const td = tr.querySelector("td.status");
				out[tr.dataset.surface] = td ? { text: td.textContent, class: td.className, bg: getComputedStyle(td).backgroundColor,
					live: document.querySelector("#live").classList.contains("on") } : { text: "", class: "", bg: "", live: false };
			}
			return out;
		})()`))
		got = nil
		if err == nil {
			json.Unmarshal(raw, &got)
		}
		if g, s := got["nauvis"], got["gleba"]; g.Live && g.Text == "failed: store corrupt on n1" && s.Text == "stopped" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live surfaces page shows %+v (err %v), want nauvis \"failed: store corrupt on n1\" and gleba \"stopped\"", got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name, c := range got {
		if !strings.Contains(c.Class, "attention") || c.Bg == "" || c.Bg == "rgba(0, 0, 0, 0)" {
			t.Errorf("%s's status %q is not highlighted: class %q, background %q", name, c.Text, c.Class, c.Bg)
		}
	}
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(t.ArtifactDir(), "surfaces-status.png"), buf, 0o644)
	}
}

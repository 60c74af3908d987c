package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/validate"
	"github.com/starlane/starlane/sim"
)

func newControllerCmd() *cobra.Command {
	var (
		cfg         controller.Config
		join        string
		logLevel    string
		metricsBind string
		gcPercent   int
		// withDashboard serves the web dashboard on the metrics address.
		withDashboard bool
	)
	cmd := &cobra.Command{
		Use:   "controller --data-dir D --bind HOST:PORT --raft-bind HOST:PORT (--bootstrap | --join ADDR)",
		Short: "Run a Raft-replicated controller (start 1, 3 or 5 of them)",
		Long: `Run one controller of the cluster. Start the first one with --bootstrap; start the
others with --join pointing at any running controller's API address. A restarted
controller finds its state in --data-dir and needs neither flag.

A controller whose Raft storage (DATA_DIR/raft-wal) is damaged refuses to start
and says so; one of several controllers rebuilds itself from its peers when
started again with --rebuild-from-peers --join ADDR (the damaged files are moved
aside, never deleted). Pass --rebuild-from-peers always to let it do that by
itself.

Without --tls-cert/--tls-key/--tls-ca every listener runs in plaintext and only
on loopback addresses.`,
		Example: `  starlane controller --data-dir /var/lib/starlane/c1 --bind 127.0.0.1:7400 --raft-bind 127.0.0.1:7401 --bootstrap
  starlane controller --data-dir /var/lib/starlane/c2 --bind 127.0.0.1:7410 --raft-bind 127.0.0.1:7411 --join 127.0.0.1:7400`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = log
			cfg.Join = splitList(join)
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(gcPercent)
			}
			cfg.RaftLogLevel = logLevel
			if logLevel == "info" {
				cfg.RaftLogLevel = "warn" // raft's info lines are per heartbeat-ish noise
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Metrics = reg
			cfg.Catalog = validate.Catalog{Planets: sim.PlanetNames(), Maps: builtinMaps(), SaveVersion: sim.SaveVersion,
				Bundles: []string{sim.DefaultBundle().Hash()}}
			cfg.Bundles = simBundles{}
			// A rebuilding controller asks its peers to drop it with the admin
			// token it was given (firstAdminToken keeps --admin-token only for a
			// new cluster).
			cfg.RebuildToken = cfg.AdminToken
			printToken, err := firstAdminToken(&cfg)
			if err != nil {
				return err
			}
			c, err := controller.New(cfg)
			if err != nil {
				return err
			}
			if metricsBind != "" {
				var pages []http.Handler
				if withDashboard {
					dash, err := startDashboard(c, cfg, log)
					if err != nil {
						c.Shutdown(false)
						return err
					}
					defer dash.Close()
					pages = append(pages, dash.Handler())
				}
				if err := serveMetrics(cfg.TLS, metricsBind, reg, log, pages...); err != nil {
					c.Shutdown(false)
					return err
				}
			}
			if printToken {
				fmt.Fprintf(cmd.OutOrStdout(), "first admin token (shown once, keep it; pass it as --token or STARLANE_TOKEN): %s\n", cfg.AdminToken)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			select {
			case <-ctx.Done():
			case err := <-c.Failed():
				c.Shutdown(false)
				return err
			}
			log.Info("shutting down; handing over leadership first if leader")
			return c.Shutdown(true)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the Raft log, snapshots, controller-id and join-token (required)")
	f.StringVar(&cfg.BindAddr, "bind", "127.0.0.1:7400", "gRPC API listen address")
	f.StringVar(&cfg.RaftBind, "raft-bind", "127.0.0.1:7401", "Raft transport listen address")
	f.StringVar(&cfg.APIAdvertise, "advertise", "", "API address other controllers and clients use (default: the --bind address)")
	f.StringVar(&cfg.RaftAdvertise, "raft-advertise", "", "Raft address peers use (default: the --raft-bind address)")
	f.StringVar(&cfg.ID, "id", "", "controller ID (default: kept in DATA_DIR/controller-id, generated on first start)")
	f.BoolVar(&cfg.Bootstrap, "bootstrap", false, "start a new cluster with this controller as its only voter (ignored once the data dir has state)")
	f.BoolVar(&cfg.RebuildFromPeers, "rebuild-from-peers", false, "if this controller's Raft storage is damaged, move it aside and rejoin through --join as a new member that copies the state from its peers (instead of refusing to start)")
	f.StringVar(&join, "join", "", "API address(es), comma-separated, of running controllers to join through")
	f.StringVar(&cfg.JoinToken, "join-token", "", "node join token to install when bootstrapping (default: generated); written to DATA_DIR/join-token")
	secretVar(f, &cfg.AdminToken, "admin-token", "STARLANE_TOKEN", "admin operator token: installed first when bootstrapping (default: generated and printed once), used by --rebuild-from-peers (env STARLANE_TOKEN)")
	f.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", time.Second, "how often nodes are told to heartbeat")
	f.DurationVar(&cfg.LeaseTTL, "lease-ttl", 5*time.Second, "how long without a heartbeat before a node is marked down")
	f.DurationVar(&cfg.RestoreAfter, "restore-after", controller.DefaultRestoreAfter, "how long a surface whose only copy is on a down node waits for it before it is restored from its newest autosave on another node")
	f.DurationVar(&cfg.ElectionTimeout, "election-timeout", 500*time.Millisecond, "Raft heartbeat/election timeout; leader failover takes about 1-3x this")
	f.StringVar(&metricsBind, "metrics-bind", "", "serve the web dashboard (/), Prometheus metrics (/metrics) and Go profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:7402; off when empty")
	f.BoolVar(&withDashboard, "dashboard", true, "serve the web dashboard at / on the --metrics-bind address")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	// The catalog heap is small and write storms allocate a lot per request:
	// collecting less often buys about a third more write throughput on 2 cores.
	f.IntVar(&gcPercent, "gc-percent", 400, "Go GC target percentage for this process (the GOGC environment variable wins)")
	cfg.TLS.AddFlags(f)
	cmd.MarkFlagRequired("data-dir")
	cmd.MarkFlagsMutuallyExclusive("bootstrap", "join")
	return cmd
}

// firstAdminToken checks --admin-token, or makes one for a controller that
// bootstraps a new cluster; it reports whether to print the made one.
func firstAdminToken(cfg *controller.Config) (bool, error) {
	if !cfg.Bootstrap {
		cfg.AdminToken = ""
		return false, nil
	}
	if controller.HasRaftState(cfg.DataDir) {
		cfg.AdminToken = ""
		return false, nil // not a new cluster: its tokens are in its state
	}
	if cfg.AdminToken != "" {
		if !strings.HasPrefix(cfg.AdminToken, authz.TokenPrefix) || len(cfg.AdminToken) < 24 {
			return false, fmt.Errorf("--admin-token: an operator token starts with %q and has at least 24 characters", authz.TokenPrefix)
		}
		return false, nil
	}
	cfg.AdminToken = controller.NewSecret(authz.TokenPrefix)
	return true, nil
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// withRoles lets a request through over TLS only with a client certificate of one
// of roles (plaintext listeners are loopback only).
func withRoles(h http.Handler, roles ...tlsconf.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			role, name, err := tlsconf.PeerRole(*r.TLS)
			if err != nil || !slices.Contains(roles, role) {
				http.Error(w, fmt.Sprintf("certificate %q (role %s) may not read %s; it is for %v certificates", name, role, r.URL.Path, roles), http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// serveMetrics serves /metrics and /debug/pprof/ on addr, and pages (the controller's
// dashboard) at / when given.
func serveMetrics(t tlsconf.Config, addr string, reg *prometheus.Registry, log *slog.Logger, pages ...http.Handler) error {
	ln, srvTLS, err := t.ListenTCP(addr, "metrics", log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	// With TLS, the metrics are for the cluster's own certificates and its
	// operators, and the Go profiles (goroutine stacks, heap, a CPU profile the
	// caller starts) for operators and controllers only: a player's certificate
	// opens neither.
	mux.Handle("/metrics", withRoles(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), tlsconf.RoleOperator, tlsconf.RoleController, tlsconf.RoleNode))
	mux.Handle("/debug/pprof/", withRoles(http.HandlerFunc(pprof.Index), tlsconf.RoleOperator, tlsconf.RoleController))
	mux.Handle("/debug/pprof/profile", withRoles(http.HandlerFunc(pprof.Profile), tlsconf.RoleOperator, tlsconf.RoleController))
	mux.Handle("/debug/pprof/trace", withRoles(http.HandlerFunc(pprof.Trace), tlsconf.RoleOperator, tlsconf.RoleController))
	for _, p := range pages {
		mux.Handle("/", p)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		var err error
		if srvTLS != nil {
			err = srv.Serve(tls.NewListener(ln, srvTLS))
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/node"
	"github.com/starlane/starlane/sim"
)

// agentFlags are the flags of `starlane node` when it runs the worker agent.
type agentFlags struct {
	rconPasswordFile, rconTokenFile, joinTokenFile string
	cfg                                            node.Config
	labels                                         []string
	metricsBind                                    string
	logLevel                                       string
	cpuProfile                                     string
}

func (a *agentFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	secretVar(f, &a.cfg.JoinToken, "join-token", "STARLANE_JOIN_TOKEN", "the cluster's node join token (print it with: starlane cluster join-token; env STARLANE_JOIN_TOKEN; or --join-token-file, which keeps it out of the process list)")
	f.StringVar(&a.joinTokenFile, "join-token-file", "", "file holding the node join token")
	f.StringVar(&a.cfg.DataDir, "data-dir", "", "directory for the node ID and every shard's input log and checkpoints")
	f.StringVar(&a.cfg.Bind, "bind", "127.0.0.1:7500", "node API listen address (players, other nodes)")
	f.StringVar(&a.cfg.Advertise, "advertise", "", "address others dial for this node (default: the --bind address)")
	f.StringVar(&a.cfg.Name, "name", "", "node ID (default: kept in DATA_DIR/node-id, generated on first start)")
	f.Uint32Var(&a.cfg.Cores, "capacity-cores", 1, "CPU cores this node offers for tick work")
	f.Uint32Var(&a.cfg.MaxSurfaces, "max-surfaces", 0, "most shards this node hosts (0: no limit)")
	f.StringSliceVar(&a.labels, "label", nil, "KEY=VALUE label for placement (repeatable)")
	f.Uint64Var(&a.cfg.CheckpointEvery, "checkpoint-every", 1800, "checkpoint each shard every this many ticks; the input log before the older of the last two is truncated")
	f.Uint32Var(&a.cfg.PlayerBatchTicks, "player-batch-ticks", 2, "send players confirmed ticks in messages of this many (1: every tick at once); a player who just acted gets every tick at once")
	f.DurationVar(&a.cfg.ConnectTimeout, "connect-timeout", 10*time.Second, "give up registering with the controller after this long")
	f.DurationVar(&a.cfg.StandbyLostAfter, "standby-lost-after", time.Second, "a synced standby reports its primary lost after its replication stream has been broken or silent this long (faster failover than the lease)")
	f.DurationVar(&a.cfg.StandbyDropAfter, "standby-drop-after", time.Second, "a primary asks to drop a synced standby that has been disconnected or far behind this long, so it stops waiting for it")
	f.DurationVar(&a.cfg.HandoffTimeout, "handoff-timeout", 2*time.Second, "how long a primary stays stopped in a live move waiting for the target to hold its last tick")
	f.BoolVar(&a.cfg.BundlesFixed, "fixed-bundles", false, "run only the prototype bundles this node holds (the built-in one and those fetched before) instead of fetching a surface's bundle from the controllers")
	f.Int64Var(&a.cfg.MaxStateBytes, "max-state-bytes", sim.DefaultMaxStateBytes, "refuse a save or checkpoint whose decompressed state is larger (a decompression bomb is refused before it is inflated)")
	f.StringVar(&a.cfg.RCONBind, "rcon-bind", "", "serve the admin console over Source RCON on this address, e.g. 127.0.0.1:27015 (needs --rcon-password-file); off when empty")
	f.StringVar(&a.rconPasswordFile, "rcon-password-file", "", "file holding the RCON console's password")
	f.StringVar(&a.rconTokenFile, "rcon-token-file", "", "file holding an operator token (role operate) the console's /ban and /unban use")
	f.StringVar(&a.metricsBind, "metrics-bind", "", "serve Prometheus metrics (/metrics) on this address, e.g. 127.0.0.1:7502; off when empty")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&a.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the whole run to this file")
	f.MarkHidden("cpu-profile")
	f.Uint64Var(&a.cfg.TamperStandbyAt, "tamper-standby-at", 0, "tests: hot standbys here desync on purpose after this tick")
	f.MarkHidden("tamper-standby-at")
}

// runAgent runs the worker agent until SIGINT or SIGTERM.
func runAgent(cmd *cobra.Command, o *opFlags, a *agentFlags) error {
	log, err := newLogger(a.logLevel)
	if err != nil {
		return err
	}
	cfg := a.cfg
	cfg.Controllers = ctlclient.ParseAddrs(o.controller)
	cfg.TLS = o.tls
	cfg.Logger = log
	cfg.Version = version
	cfg.Labels = map[string]string{}
	for _, l := range a.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: use KEY=VALUE", l)
		}
		cfg.Labels[k] = v
	}
	if cfg.RCONBind != "" && a.rconPasswordFile == "" {
		return fmt.Errorf("--rcon-bind needs --rcon-password-file: a file holding the console's password")
	}
	for _, f := range []struct {
		flag, file string
		dst        *string
	}{{"rcon-password-file", a.rconPasswordFile, &cfg.RCONPassword}, {"rcon-token-file", a.rconTokenFile, &cfg.ConsoleToken}, {"join-token-file", a.joinTokenFile, &cfg.JoinToken}} {
		if f.file == "" {
			continue
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
		if *f.dst = strings.TrimSpace(string(b)); *f.dst == "" {
			return fmt.Errorf("--%s: %s is empty", f.flag, f.file)
		}
	}
	if cfg.CheckpointEvery == 0 {
		return fmt.Errorf("--checkpoint-every must be at least 1 tick")
	}
	if cfg.PlayerBatchTicks < 1 || cfg.PlayerBatchTicks > 30 {
		return fmt.Errorf("--player-batch-ticks %d: use 1 (every tick at once) to 30", cfg.PlayerBatchTicks)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Metrics = reg
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Metrics first: a listener that cannot open fails before the node
	// registers with the controllers.
	if a.metricsBind != "" {
		if err := serveMetrics(o.tls, a.metricsBind, reg, log); err != nil {
			return err
		}
	}
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if a.cpuProfile != "" {
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "node %s serving on %s (data in %s)\n", n.ID(), n.Addr(), cfg.DataDir)
	err = n.Run(ctx)
	log.Info("node stopped")
	return err
}

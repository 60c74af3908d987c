package main

import (
	"log/slog"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/dashboard"
)

// startDashboard starts the web dashboard of a controller: a client of its own gRPC
// API, served next to its metrics.
func startDashboard(c *controller.Controller, cfg controller.Config, log *slog.Logger) (*dashboard.Server, error) {
	d, err := dashboard.New(dashboard.Config{ControllerID: c.ID(), SelfAddr: c.APIAddr(), TLS: cfg.TLS,
		HeartbeatInterval: cfg.HeartbeatInterval, Logger: log, Token: c.InternalReadToken})
	if err != nil {
		return nil, err
	}
	d.Start()
	return d, nil
}

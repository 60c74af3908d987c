package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gdamore/tcell/v2"
	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
)

func newPlayCmd() *cobra.Command {
	var (
		nodeAddr, surface, name string
		tlsCfg                  tlsconf.Config
		auth                    playerAuth
	)
	cmd := &cobra.Command{
		Use:   "play --node ADDR --surface S [--name N]",
		Short: "Join a surface as a player in the terminal",
		Long: `Join a surface as a lockstep player: the node sends the latest checkpoint and
every confirmed tick, and this terminal client simulates the surface itself.

Keys: arrows or WASD walk, [ and ] pick what to build, b builds it on the tile you
face, m mines that tile, r rotates it, q or Esc quits. The bottom lines show the
tick, UPS, ping and the outcome of your last action.`,
		Example: `  starlane play --surface nauvis
  starlane play --node 127.0.0.1:7410 --surface nauvis   # through a given node`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if surface == "" {
				return errors.New("--surface is required")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tickets, closeTickets, err := auth.tickets(tlsCfg)
			if err != nil {
				return err
			}
			defer closeTickets()
			if nodeAddr, err = auth.nodeFor(ctx, tlsCfg, cmd.ErrOrStderr(), nodeAddr, surface, tickets, name); err != nil {
				return err
			}
			c, err := player.Dial(ctx, player.Options{Node: nodeAddr, Surface: surface, Name: name, TLS: tlsCfg, Version: version, Ticket: tickets.Get})
			if err != nil {
				return joinErr(surface, nodeAddr, err)
			}
			defer c.Close()
			screen, err := tcell.NewScreen()
			if err != nil {
				return fmt.Errorf("open the terminal: %w", err)
			}
			if err := screen.Init(); err != nil {
				return fmt.Errorf("open the terminal: %w", err)
			}
			err = player.RunTUI(ctx, c, screen)
			screen.Fini()
			return err
		},
	}
	def := os.Getenv("USER")
	if def == "" {
		def = "player"
	}
	f := cmd.Flags()
	f.StringVar(&nodeAddr, "node", "", nodeUsage)
	f.StringVar(&surface, "surface", "", "surface to join")
	f.StringVar(&name, "name", def, "player name (your character is kept under it)")
	auth.addFlags(f)
	tlsCfg.AddFlags(f)
	return cmd
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
)

// playerAuth is how `play` and `bot` get player tickets: from the controllers,
// with an operator token, or with the player's key (--player-key, or the key
// kept for the name in the user's config directory, made on first use for a
// cluster that lets players register themselves).
type playerAuth struct {
	controller string
	token      string
	key        string
}

func (p *playerAuth) addFlags(f *pflag.FlagSet) {
	def := os.Getenv("STARLANE_CONTROLLER")
	if def == "" {
		def = "127.0.0.1:7400"
	}
	f.StringVar(&p.controller, "controller", def, "controller address(es) to get a player ticket from (env STARLANE_CONTROLLER)")
	secretVar(f, &p.token, "token", "STARLANE_TOKEN", "operator token that may get a ticket for any player (env STARLANE_TOKEN)")
	secretVar(f, &p.key, "player-key", "STARLANE_PLAYER_KEY", "the player's key from 'starlane player create' (env STARLANE_PLAYER_KEY; default: the one kept for the name)")
}

// tickets returns the ticket source and a function closing its connections.
func (p *playerAuth) tickets(t tlsconf.Config) (*player.Tickets, func(), error) {
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(p.controller), t)
	if err != nil {
		return nil, nil, err
	}
	cl.Token = p.token
	ts := &player.Tickets{Ctl: cl}
	switch {
	case p.key != "":
		ts.Key = func(string) (string, error) { return p.key, nil }
	case p.token == "":
		ts.Key = storedPlayerKey
	}
	return ts, func() { cl.Close() }, nil
}

// storedPlayerKey returns the key kept for a player name in the user's config
// directory, making one the first time (self-registration).
func storedPlayerKey(name string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a place for the player key: %w; pass --player-key", err)
	}
	file := filepath.Join(dir, "starlane", "players", name+".key")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the player key: %w", err)
	}
	key := controller.NewSecret(controller.PlayerKeyPrefix)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("keep the player key: %w", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the player key: %w", err)
	}
	return key, nil
}

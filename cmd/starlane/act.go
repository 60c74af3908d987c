package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
)

func newActCmd() *cobra.Command {
	var (
		nodeAddr, surface, name, file string
		asJSON                        bool
		timeout                       time.Duration
		tlsCfg                        tlsconf.Config
		auth                          playerAuth
	)
	cmd := &cobra.Command{
		Use:   "act --surface S [--name N] STEP... | --file FILE",
		Short: "Join a surface as a player, carry out a few actions and leave",
		Long: `Join a surface as a lockstep player (as play does, without a screen), carry out
the steps in order and leave. The character walks within reach of each step's tile
first. Each step waits for the surface to apply or refuse it; the first refusal
ends the run with exit status 1 and the surface's reason. A step is one argument
(quote it) or one line of --file (- for stdin; # starts a comment).

Steps:
` + player.ScriptHelp() + `

An insert or take moves what it can: fewer items than asked for when the entity
holds (or has room for) less, or the inventory has room for less; the step says
how many it moved and why ("took 12 iron-plate (asked for 50; the wooden-chest
held 12)").

--json prints [{"step","ok","tick","entity","count","asked","moved","error"}], one
per step carried out (count, asked and moved for an insert or take).`,
		Example: `  # rebuild the import port "in" of a loop surface, on tile 0,2
  starlane act --surface la 'mine 0,2' 'build bridge-import 0,2 label=in'
  starlane act --surface nauvis --file steps.txt --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if surface == "" {
				return errors.New("--surface is required")
			}
			lines := args
			if file != "" {
				if len(args) > 0 {
					return errors.New("give the steps as arguments or with --file, not both")
				}
				var err error
				if lines, err = readSteps(cmd.InOrStdin(), file); err != nil {
					return err
				}
			}
			if len(lines) == 0 {
				return errors.New("no steps: give at least one, such as 'mine 0,2' (see --help)")
			}
			steps := make([]player.Step, 0, len(lines))
			for _, l := range lines {
				st, err := player.ParseStep(l)
				if err != nil {
					if asJSON {
						// A tool reading stdout gets the refusal as an outcome too.
						_ = printJSON(cmd.OutOrStdout(), []player.Outcome{{Step: strings.Join(strings.Fields(l), " "), Error: err.Error()}})
					}
					return err
				}
				steps = append(steps, st)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			tickets, closeTickets, err := auth.tickets(tlsCfg)
			if err != nil {
				return err
			}
			defer closeTickets()
			stderr, stdout := cmd.ErrOrStderr(), cmd.OutOrStdout()
			if nodeAddr, err = auth.nodeFor(ctx, tlsCfg, stderr, nodeAddr, surface, tickets, name); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "joining %s as %s...\n", surface, name)
			c, err := player.Dial(ctx, player.Options{Node: nodeAddr, Surface: surface, Name: name, TLS: tlsCfg, Version: version, Ticket: tickets.Get,
				OnEvent: func(e player.Event) {
					if e.Kind != "joined" {
						fmt.Fprintf(stderr, "%s\n", e.Message)
					}
				}})
			if err != nil {
				return joinErr(surface, nodeAddr, err)
			}
			defer c.Close()
			fmt.Fprintf(stderr, "joined %s on node %s; catching up with the surface\n", surface, c.NodeName())
			out, err := player.RunScript(ctx, c, steps, func(o player.Outcome) {
				if asJSON {
					return
				}
				if o.OK {
					what := ""
					if o.Entity != 0 {
						what = fmt.Sprintf(" (entity #%d)", o.Entity)
					}
					if o.Moved != "" {
						what += ": " + o.Moved
					}
					fmt.Fprintf(stdout, "%s: done at tick %d%s\n", o.Step, o.Tick, what)
				} else {
					fmt.Fprintf(stdout, "%s: refused at tick %d: %s\n", o.Step, o.Tick, o.Error)
				}
			})
			if asJSON {
				if out == nil {
					out = []player.Outcome{}
				}
				if jerr := printJSON(stdout, out); jerr != nil {
					return jerr
				}
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%w (after --timeout %v; %d of %d steps done)", err, timeout, len(out), len(steps))
			}
			return ctlclient.PlainError(err)
		},
	}
	def := os.Getenv("USER")
	if def == "" {
		def = "operator"
	}
	f := cmd.Flags()
	f.StringVar(&nodeAddr, "node", "", nodeUsage)
	f.StringVar(&surface, "surface", "", "surface to act on")
	f.StringVar(&name, "name", def, "player name (the character is kept under it, with its inventory)")
	f.StringVar(&file, "file", "", "read the steps from FILE, one per line (- for stdin)")
	f.BoolVar(&asJSON, "json", false, `print [{"step","ok","tick","entity","count","asked","moved","error"}] as JSON`)
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	auth.addFlags(f)
	tlsCfg.AddFlags(f)
	return cmd
}

// readSteps reads one step per line of file (- for in), skipping blank lines and
// # comments.
func readSteps(in io.Reader, file string) ([]string, error) {
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read the steps: %w", err)
		}
		defer f.Close()
		in = f
	}
	var lines []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the steps from %s: %w", file, err)
	}
	return lines, nil
}

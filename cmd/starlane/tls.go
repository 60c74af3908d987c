package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/tlsconf"
)

type certJSON struct {
	Name  string   `json:"name"`
	Role  string   `json:"role,omitempty"`
	Cert  string   `json:"cert"`
	Key   string   `json:"key"`
	Hosts []string `json:"hosts"`
	New   bool     `json:"new"`
}

func newTLSCmd() *cobra.Command {
	var (
		dir    string
		valid  time.Duration
		hosts  []string
		role   string
		asJSON bool
		byRole = map[tlsconf.Role]*[]string{}
	)
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "Make a cluster CA and certificates for controllers, nodes, operators and players",
		Long: `Every Starlane listener that is not on loopback needs TLS: --tls-cert, --tls-key and
--tls-ca on controllers, nodes and the CLI. These commands make a small private CA and
certificates signed by it (ECDSA P-256, usable to serve and to dial), so a cluster on
several hosts needs no other tool. Keep ca-key.pem off the cluster's hosts once the
certificates are made.

TLS is mutual: every listener demands a certificate from the cluster CA, and the role
written into it decides what its holder may call:
  controller  Raft and controller-to-controller calls
  node        the node protocol, bridges and replication between nodes
  operator    the operator API (surfaces, bridges, join token, snapshots) and surface downloads
  player      joining and playing a surface, nothing else

NAME follows the rule of every Starlane name (1-63 of a-z 0-9 . _ -, starting with a
letter or digit): it is the file name, the certificate's name and a host name. Each
certificate names its host (the NAME argument and every --host) and, so that
local tools work too, localhost, 127.0.0.1 and ::1. Files are never overwritten.

What is made stays valid for --valid (a year by default). Every command, node and
controller checks its own certificate before it dials or serves and refuses one that
has expired or is not yet valid, naming the command that makes a new one.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "directory holding ca.pem and ca-key.pem, where certificates are written")
	cmd.PersistentFlags().DurationVar(&valid, "valid", 365*24*time.Hour, "how long what is made stays valid")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print machine-readable JSON")

	// A certificate that is not valid now would be refused by every peer.
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if valid <= 0 {
			return fmt.Errorf("--valid %v: want a positive duration, such as 8760h for a year", valid)
		}
		return nil
	}
	hostsFor := func(name string) []string {
		hs := append([]string{name}, hosts...)
		for _, l := range []string{"localhost", "127.0.0.1", "::1"} {
			if !slices.Contains(hs, l) {
				hs = append(hs, l)
			}
		}
		return hs
	}
	report := func(cmd *cobra.Command, certs []certJSON) error {
		if asJSON {
			return printJSON(cmd.OutOrStdout(), certs)
		}
		for _, c := range certs {
			state := "wrote"
			if !c.New {
				state = "kept"
			}
			if len(c.Hosts) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%-5s %s (%s)\n", state, c.Cert, c.Key)
				continue
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%-5s %s (%s), %s, for %s\n", state, c.Cert, c.Key, c.Role, strings.Join(c.Hosts, ", "))
		}
		return nil
	}
	caFiles := func() certJSON {
		return certJSON{Name: "ca", Cert: filepath.Join(dir, tlsconf.CAFileName), Key: filepath.Join(dir, tlsconf.CAKeyFileName), Hosts: []string{}}
	}

	ca := &cobra.Command{
		Use:     "ca",
		Short:   "Make the cluster CA (ca.pem, ca-key.pem) in --dir",
		Example: "  starlane tls ca --dir /etc/starlane/tls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := tlsconf.NewCA("Starlane cluster CA", valid)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := c.WriteCA(dir); err != nil {
				return err
			}
			out := caFiles()
			out.New = true
			return report(cmd, []certJSON{out})
		},
	}

	cert := &cobra.Command{
		Use:   "cert NAME --role ROLE",
		Short: "Make NAME.pem and NAME-key.pem with a role, signed by the CA in --dir",
		Example: `  starlane tls cert c1 --role controller --dir /etc/starlane/tls --host 10.0.0.11
  starlane tls cert n1 --role node --dir /etc/starlane/tls --host 10.0.0.21
  starlane tls cert alice --role operator --dir /etc/starlane/tls    # for the CLI`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tlsconf.CheckName(args[0]); err != nil {
				return err
			}
			if role == "" {
				return fmt.Errorf("--role is required: one of controller, node, operator, player")
			}
			r, err := tlsconf.ParseRole(role)
			if err != nil {
				return err
			}
			c, err := tlsconf.LoadCA(dir)
			if err != nil {
				return fmt.Errorf("%w (make one with: starlane tls ca --dir %s)", err, dir)
			}
			hs := hostsFor(args[0])
			certFile, keyFile, err := c.WriteIssued(dir, args[0], r, hs, valid)
			if err != nil {
				return err
			}
			return report(cmd, []certJSON{{Name: args[0], Role: string(r), Cert: certFile, Key: keyFile, Hosts: hs, New: true}})
		},
	}
	cert.Flags().StringSliceVar(&hosts, "host", nil, "another DNS name or IP address the certificate is valid for (repeatable)")
	cert.Flags().StringVar(&role, "role", "", "what the holder may do: controller, node, operator or player (required)")

	initCmd := &cobra.Command{
		Use:   "init --controller NAMES --node NAMES [--operator NAMES] [--player NAMES]",
		Short: "Make the CA if missing and a certificate for each name that has none (idempotent)",
		Long: `init makes what is missing and keeps what exists: the CA, then NAME.pem and
NAME-key.pem for each name, with the role of the flag that names it (the name is also
its host name). Run it again with more names to add hosts; it is what an init container
of a compose cluster runs (deploy/docker-compose.yml). A kept certificate must carry
the role asked for: one made before roles existed is reported, not silently reused.`,
		Example: "  starlane tls init --dir ./tls --controller c1,c2,c3 --node n1,n2,n3 --operator operator",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("name each certificate with the flag of its role (--controller, --node, --operator, --player), e.g. --node %s", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			type want struct {
				name string
				role tlsconf.Role
			}
			var wants []want
			for _, r := range tlsconf.Roles {
				for _, n := range *byRole[r] {
					if err := tlsconf.CheckName(n); err != nil {
						return fmt.Errorf("--%s: %w", r, err)
					}
					wants = append(wants, want{n, r})
				}
			}
			if len(wants) == 0 {
				return fmt.Errorf("name at least one certificate: --controller, --node, --operator or --player")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			var out []certJSON
			c, err := tlsconf.LoadCA(dir)
			caRec := caFiles()
			if errors.Is(err, fs.ErrNotExist) {
				if _, serr := os.Stat(caRec.Cert); serr == nil {
					return fmt.Errorf("%s exists without %s: cannot sign with it", caRec.Cert, caRec.Key)
				}
				if c, err = tlsconf.NewCA("Starlane cluster CA", valid); err != nil {
					return err
				}
				if err := c.WriteCA(dir); err != nil {
					return err
				}
				caRec.New = true
			} else if err != nil {
				return err
			}
			out = append(out, caRec)
			for _, w := range wants {
				name := w.name
				hs := hostsFor(name)
				certFile, keyFile := tlsconf.IssuedFiles(dir, name)
				if _, err := os.Stat(certFile); err == nil {
					have, err := tlsconf.ReadRole(certFile)
					if err != nil {
						return fmt.Errorf("%s exists: %w; remove it (and %s) and run init again", certFile, err, keyFile)
					}
					if have != w.role {
						return fmt.Errorf("%s exists with role %s, not %s; remove it (and %s) and run init again", certFile, have, w.role, keyFile)
					}
					out = append(out, certJSON{Name: name, Role: string(w.role), Cert: certFile, Key: keyFile, Hosts: hs})
					continue
				}
				if certFile, keyFile, err = c.WriteIssued(dir, name, w.role, hs, valid); err != nil {
					return err
				}
				out = append(out, certJSON{Name: name, Role: string(w.role), Cert: certFile, Key: keyFile, Hosts: hs, New: true})
			}
			return report(cmd, out)
		},
	}
	initCmd.Flags().StringSliceVar(&hosts, "host", nil, "another DNS name or IP address every new certificate is valid for (repeatable)")
	for _, r := range tlsconf.Roles {
		byRole[r] = new([]string)
		initCmd.Flags().StringSliceVar(byRole[r], string(r), nil, fmt.Sprintf("names (hosts) to make %s certificates for (comma-separated, repeatable)", r))
	}

	cmd.AddCommand(ca, cert, initCmd)
	return cmd
}

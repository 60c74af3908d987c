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
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "Make a cluster CA and certificates for controllers, nodes and clients",
		Long: `Every Starlane listener that is not on loopback needs TLS: --tls-cert, --tls-key and
--tls-ca on controllers, nodes and the CLI. These commands make a small private CA and
certificates signed by it (ECDSA P-256, usable to serve and to dial), so a cluster on
several hosts needs no other tool. Keep ca-key.pem off the cluster's hosts once the
certificates are made.

Each certificate names its host (the NAME argument and every --host) and, so that
local tools work too, localhost, 127.0.0.1 and ::1. Files are never overwritten.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "directory holding ca.pem and ca-key.pem, where certificates are written")
	cmd.PersistentFlags().DurationVar(&valid, "valid", 365*24*time.Hour, "how long what is made stays valid")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print machine-readable JSON")

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
			fmt.Fprintf(cmd.OutOrStdout(), "%-5s %s (%s) for %s\n", state, c.Cert, c.Key, strings.Join(c.Hosts, ", "))
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
		Use:   "cert NAME",
		Short: "Make NAME.pem and NAME-key.pem, signed by the CA in --dir",
		Example: `  starlane tls cert c1 --dir /etc/starlane/tls --host 10.0.0.11
  starlane tls cert operator --dir /etc/starlane/tls    # a certificate for the CLI`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := tlsconf.LoadCA(dir)
			if err != nil {
				return fmt.Errorf("%w (make one with: starlane tls ca --dir %s)", err, dir)
			}
			hs := hostsFor(args[0])
			certFile, keyFile, err := c.WriteIssued(dir, args[0], hs, valid)
			if err != nil {
				return err
			}
			return report(cmd, []certJSON{{Name: args[0], Cert: certFile, Key: keyFile, Hosts: hs, New: true}})
		},
	}
	cert.Flags().StringSliceVar(&hosts, "host", nil, "another DNS name or IP address the certificate is valid for (repeatable)")

	initCmd := &cobra.Command{
		Use:   "init NAME...",
		Short: "Make the CA if missing and a certificate for each NAME that has none (idempotent)",
		Long: `init makes what is missing and keeps what exists: the CA, then NAME.pem and
NAME-key.pem for each NAME (its host name). Run it again with more names to add hosts;
it is what an init container of a compose cluster runs (deploy/docker-compose.yml).`,
		Example: "  starlane tls init --dir ./tls c1 c2 c3 n1 n2 n3 operator",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			for _, name := range args {
				hs := hostsFor(name)
				certFile, keyFile := tlsconf.IssuedFiles(dir, name)
				if _, err := os.Stat(certFile); err == nil {
					out = append(out, certJSON{Name: name, Cert: certFile, Key: keyFile, Hosts: hs})
					continue
				}
				if certFile, keyFile, err = c.WriteIssued(dir, name, hs, valid); err != nil {
					return err
				}
				out = append(out, certJSON{Name: name, Cert: certFile, Key: keyFile, Hosts: hs, New: true})
			}
			return report(cmd, out)
		},
	}
	initCmd.Flags().StringSliceVar(&hosts, "host", nil, "another DNS name or IP address every new certificate is valid for (repeatable)")

	cmd.AddCommand(ca, cert, initCmd)
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// opFlags are the flags every operator command takes.
type opFlags struct {
	controller string
	json       bool
	timeout    time.Duration
	tls        tlsconf.Config
	token      string
}

func (o *opFlags) add(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	def := os.Getenv("STARLANE_CONTROLLER")
	if def == "" {
		def = "127.0.0.1:7400"
	}
	f.StringVar(&o.controller, "controller", def, "controller API address(es), comma-separated (env STARLANE_CONTROLLER)")
	f.BoolVar(&o.json, "json", false, "print machine-readable JSON")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this long (controllers are retried until then)")
	secretVar(f, &o.token, "token", "STARLANE_TOKEN", "operator token (env STARLANE_TOKEN; 'starlane dev' writes one to its cluster.json)")
	o.tls.AddFlags(f)
}

// secretVar registers a string flag whose value defaults to an environment
// variable without showing it: --help prints a flag's default, and a token or key
// does not belong on a screen or in a terminal log.
func secretVar(f *pflag.FlagSet, p *string, name, env, usage string) {
	f.StringVar(p, name, "", usage)
	*p = os.Getenv(env)
}

// dial connects to the controllers with the operator token.
func (o *opFlags) dial() (*ctlclient.Client, error) {
	if o.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v: want a positive duration, such as 30s", o.timeout)
	}
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(o.controller), o.tls)
	if err != nil {
		return nil, err
	}
	cl.Token = o.token
	return cl, nil
}

// access runs one AccessService call with retries.
func (o *opFlags) access(fn func(ctx context.Context, c pb.AccessServiceClient) error) error {
	return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
		return cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
			return fn(ctx, pb.NewAccessServiceClient(cc))
		})
	})
}

// run dials the controllers and runs fn with a deadline.
func (o *opFlags) run(fn func(ctx context.Context, cl *ctlclient.Client) error) error {
	cl, err := o.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	cl.Waiting = func(err error) {
		fmt.Fprintf(os.Stderr, "starlane: no controller answers at %s yet: %s; retrying until --timeout %v\n", o.controller, ctlclient.Describe(err), o.timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	return ctlclient.PlainError(fn(ctx, cl))
}

// cluster runs one ClusterService call with retries.
func (o *opFlags) cluster(fn func(ctx context.Context, c pb.ClusterServiceClient) error) error {
	return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
		return cl.Cluster(ctx, fn)
	})
}

// printJSON prints v as one JSON document on one line (pipe it to jq to read).
func printJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

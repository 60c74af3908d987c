package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/validate"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// simBundles reads prototype bundles for the controller with the simulation's
// own loader, so an upload is checked exactly as a node will load it.
type simBundles struct{}

func (simBundles) Parse(data []byte) (controller.ParsedBundle, error) {
	b, err := sim.LoadBundle(bytes.NewReader(data))
	if err != nil {
		return controller.ParsedBundle{}, err
	}
	return parsed(b)
}

func (simBundles) CheckMap(canonical []byte, mapName string, seed uint64) error {
	b, err := sim.LoadBundle(bytes.NewReader(canonical))
	if err != nil {
		return err
	}
	return sim.CheckMap(b, mapName, seed)
}

// Builtin encodes the built-in bundle once: the controller asks for it on every
// surface created and every blob sync round (each applied write), and encoding it
// took a fifth of a leader's CPU in a stream of sequential writes.
func (simBundles) Builtin() controller.ParsedBundle { return builtinParsed() }

var builtinParsed = sync.OnceValue(func() controller.ParsedBundle {
	p, err := parsed(sim.DefaultBundle())
	if err != nil {
		panic(fmt.Sprintf("the built-in bundle does not encode: %v", err)) // a build defect, caught by every test
	}
	return p
})

func parsed(b *sim.Bundle) (controller.ParsedBundle, error) {
	data, err := b.CanonicalJSON()
	if err != nil {
		return controller.ParsedBundle{}, err
	}
	return controller.ParsedBundle{Canonical: data, Hash: b.Hash(), Name: b.Name, Version: b.Version}, nil
}

// bundleJSON is the stable `bundle get/list --json` shape.
type bundleJSON struct {
	Name       string   `json:"name"`
	Hash       string   `json:"hash"`
	Size       uint64   `json:"size"`
	BundleName string   `json:"bundle_name"`
	Version    string   `json:"version"`
	Builtin    bool     `json:"builtin"`
	Created    string   `json:"created,omitempty"`
	Surfaces   []string `json:"surfaces,omitempty"`
	Saves      []string `json:"saves,omitempty"`
	Replicas   uint32   `json:"replicas,omitempty"`
	Index      uint64   `json:"index,omitempty"`
}

func toBundleJSON(b *pb.BundleInfo) bundleJSON {
	js := bundleJSON{Name: b.Name, Hash: b.Hash, Size: b.Size, BundleName: b.BundleName, Version: b.Version, Builtin: b.Builtin}
	if b.CreatedUnixMs != 0 {
		js.Created = time.UnixMilli(b.CreatedUnixMs).UTC().Format(time.RFC3339)
	}
	return js
}

func newBundleCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Upload, list, download and delete prototype bundles (mod packs)",
		Long: `A prototype bundle is the data a surface simulates with: items, recipes,
entities and technologies (a mod pack). The controller checks an uploaded bundle
(it must load), computes its hash and keeps it by that hash on a majority of
controllers; a node fetches the bundle of a surface it runs by hash and checks
it. The built-in bundle is always present and cannot be deleted. Surfaces name
their bundle: starlane surface create gleba --bundle NAME.`,
	}
	o.add(cmd)

	var name string
	upload := &cobra.Command{
		Use:     "upload FILE",
		Short:   "Upload a prototype bundle (resumes an interrupted upload of the same file)",
		Example: "  starlane bundle upload space-age.json --name space-age",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name != "" {
				if err := validate.Name("--name", name); err != nil {
					return errors.New(status.Convert(err).Message())
				}
			}
			data, err := readBundleFile(args[0])
			if err != nil {
				return err
			}
			var done *pb.UploadBundleDone
			err = o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				done, err = uploadBundle(ctx, cl, name, args[0], data, cmd.ErrOrStderr())
				return err
			})
			if err != nil {
				return err
			}
			if o.json {
				js := toBundleJSON(done.Bundle)
				js.Replicas, js.Index = done.Replicas, done.Index
				return printJSON(cmd.OutOrStdout(), js)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "uploaded bundle %s (%s %s, %s, hash %s), held by %s\n", done.Bundle.Name, done.Bundle.BundleName, done.Bundle.Version,
				humanBytes(done.Bundle.Size), done.Bundle.Hash[:12], words.Plural(int(done.Replicas), "controller"))
			return nil
		},
	}
	upload.Flags().StringVar(&name, "name", "", "the bundle's name in the cluster (default: the name in the bundle)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the prototype bundles, the built-in one first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var r *pb.ListBundlesResponse
				err := cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
					r, err = pb.NewBundleServiceClient(cc).ListBundles(ctx, &pb.ListBundlesRequest{})
					return err
				})
				if err != nil {
					return err
				}
				out := []bundleJSON{}
				for _, b := range r.Bundles {
					out = append(out, toBundleJSON(b))
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tBUNDLE\tVERSION\tSIZE\tHASH\tCREATED")
				for _, b := range out {
					created := b.Created
					if b.Builtin {
						created = "built in"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.BundleName, firstField(b.Version), humanBytes(b.Size), b.Hash[:12], created)
				}
				return w.Flush()
			})
		},
	}

	get := &cobra.Command{
		Use:   "get NAME|HASH",
		Short: "Describe a prototype bundle and the surfaces and saves using it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				r, err := getBundle(ctx, cl, args[0])
				if err != nil {
					return err
				}
				js := toBundleJSON(r.Bundle)
				js.Surfaces, js.Saves, js.Index = r.Surfaces, r.Saves, r.Index
				if o.json {
					return printJSON(cmd.OutOrStdout(), js)
				}
				created := js.Created
				if js.Builtin {
					created = "built in"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "bundle:    %s\nhash:      %s\ndata:      %s %s\nsize:      %s\ncreated:   %s\nsurfaces:  %s\nsaves:     %s\n",
					js.Name, js.Hash, js.BundleName, js.Version, humanBytes(js.Size), created,
					orDash(strings.Join(js.Surfaces, ", ")), orDash(strings.Join(js.Saves, ", ")))
				return nil
			})
		},
	}

	download := downloadCmd(o, "bundle", "hash", "download NAME|HASH --out FILE", "Download a prototype bundle's canonical form (checked against its hash)",
		"  starlane bundle download space-age --out space-age.json",
		func(ctx context.Context, cl *ctlclient.Client, ref string) (string, uint64, error) {
			r, err := getBundle(ctx, cl, ref)
			return r.GetBundle().GetHash(), r.GetBundle().GetSize(), err
		})

	del := &cobra.Command{
		Use:   "delete NAME|HASH",
		Short: "Delete an uploaded prototype bundle (refused while a surface or save uses it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			var idx uint64
			err := o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				return cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
					r, err := pb.NewBundleServiceClient(cc).DeleteBundle(ctx, &pb.DeleteBundleRequest{RequestId: rid, Name: args[0]})
					idx = r.GetIndex()
					return err
				})
			})
			if err != nil {
				return err
			}
			return done(cmd, o, map[string]any{"deleted": args[0], "index": idx}, "deleted bundle %s", args[0])
		},
	}
	cmd.AddCommand(upload, list, get, download, del)
	return cmd
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return "-"
}

func getBundle(ctx context.Context, cl *ctlclient.Client, ref string) (r *pb.GetBundleResponse, err error) {
	err = cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		r, err = pb.NewBundleServiceClient(cc).GetBundle(ctx, &pb.GetBundleRequest{Name: ref})
		return err
	})
	return r, err
}

// readBundleFile reads a bundle file within the upload limit; whether it is a
// bundle is the controller's to say.
func readBundleFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("bundle file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory: give a bundle file (JSON, as `starlane bundle download vanilla` writes)", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, validate.MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("bundle file %s: %w", name, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("bundle file %s is empty", name)
	}
	if len(data) > validate.MaxBundleBytes {
		return nil, fmt.Errorf("bundle file %s is over the %d MiB limit of a bundle", name, validate.MaxBundleBytes>>20)
	}
	// Checked here first, as the controllers check it, so that a file that cannot
	// load fails in milliseconds instead of after its upload.
	if _, err := sim.LoadBundle(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s is not a prototype bundle Starlane can load: %v", name, err)
	}
	return data, nil
}

// uploadBundle streams a bundle file to a controller with the upload exchange
// saves use (resumable, with progress on w).
func uploadBundle(ctx context.Context, cl *ctlclient.Client, name, file string, data []byte, w io.Writer) (*pb.UploadBundleDone, error) {
	sum := sha256.Sum256(data)
	start := &pb.UploadBundleStart{RequestId: ctlclient.NewRequestID(), Name: name, Sha256: hex.EncodeToString(sum[:]), Size: uint64(len(data))}
	last, err := uploadBlob(ctx, cl, "upload "+file, data,
		func(ctx context.Context, cc *grpc.ClientConn) (grpc.BidiStreamingClient[pb.UploadBundleRequest, pb.UploadBundleResponse], error) {
			return pb.NewBundleServiceClient(cc).UploadBundle(ctx)
		},
		&pb.UploadBundleRequest{Msg: &pb.UploadBundleRequest_Start{Start: start}},
		func(c []byte) *pb.UploadBundleRequest {
			return &pb.UploadBundleRequest{Msg: &pb.UploadBundleRequest_Chunk{Chunk: c}}
		},
		func(m *pb.UploadBundleResponse) uint64 { return m.GetReady().GetOffset() }, w)
	if err != nil {
		return nil, err
	}
	if last.GetDone() == nil {
		return nil, status.Error(codes.Internal, "the controller ended the upload without an answer")
	}
	return last.GetDone(), nil
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/internal/validate"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// saveJSON is the stable `save get/list --json` shape.
type saveJSON struct {
	Name          string   `json:"name"`
	Sha256        string   `json:"sha256"`
	Size          uint64   `json:"size"`
	FormatVersion uint32   `json:"format_version"`
	Bundle        string   `json:"bundle"`
	Tick          uint64   `json:"tick"`
	Surface       string   `json:"surface,omitempty"`
	Planet        string   `json:"planet,omitempty"`
	Created       string   `json:"created"`
	Surfaces      []string `json:"surfaces,omitempty"`
	Replicas      uint32   `json:"replicas,omitempty"`
	Index         uint64   `json:"index,omitempty"`
	// AutosaveOf, Kind and StateHash are set on a surface's autosaves ("auto")
	// and the final saves of its stops ("stop").
	AutosaveOf string `json:"autosave_of,omitempty"`
	Kind       string `json:"kind,omitempty"`
	StateHash  string `json:"state_hash,omitempty"`
}

func toSaveJSON(s *pb.SaveInfo) saveJSON {
	return saveJSON{Name: s.Name, Sha256: s.Sha256, Size: s.Size, FormatVersion: s.FormatVersion, Bundle: s.BundleHash,
		Tick: s.Tick, Surface: s.Surface, Planet: s.Planet, Created: time.UnixMilli(s.CreatedUnixMs).UTC().Format(time.RFC3339),
		AutosaveOf: s.AutosaveOf, Kind: s.Kind, StateHash: s.StateHash}
}

func newSaveCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "save",
		Short: "Upload, list, download and delete saves kept by the cluster",
		Long: `Saves live in the cluster, not in a path: an uploaded save is checked by the
controller (format version, checksum, prototype bundle), kept by its sha256 on a
majority of controllers before the upload returns, and fetched by hash by the node
that runs a surface made from it. Surfaces refer to a save by its name or hash:
starlane surface create gleba --save NAME.`,
	}
	o.add(cmd)

	var name string
	upload := &cobra.Command{
		Use:     "upload FILE",
		Short:   "Upload a save (resumes an interrupted upload of the same file)",
		Example: "  starlane save upload base.sav --name base",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, info, err := readSaveFile("", args[0])
			if err != nil {
				return err
			}
			derived := name == ""
			if derived {
				name = saveNameOf(args[0])
			}
			if err := validate.Name("--name", name); err != nil {
				if derived {
					return fmt.Errorf("%s (derived from the file name; pass --name)", status.Convert(err).Message())
				}
				return errors.New(status.Convert(err).Message())
			}
			var done *pb.UploadSaveDone
			err = o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				done, err = uploadSave(ctx, cl, name, data, info, cmd.ErrOrStderr())
				return err
			})
			if err != nil {
				return err
			}
			if o.json {
				js := toSaveJSON(done.Save)
				js.Replicas, js.Index = done.Replicas, done.Index
				return printJSON(cmd.OutOrStdout(), js)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "uploaded save %s (%s, sha256 %s), held by %s\n", done.Save.Name, humanBytes(done.Save.Size),
				done.Save.Sha256[:12], words.Plural(int(done.Replicas), "controller"))
			return nil
		},
	}
	upload.Flags().StringVar(&name, "name", "", "the save's name in the cluster (default: the file name without .sav)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the saves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var r *pb.ListSavesResponse
				err := cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
					r, err = pb.NewSaveServiceClient(cc).ListSaves(ctx, &pb.ListSavesRequest{})
					return err
				})
				if err != nil {
					return err
				}
				out := []saveJSON{}
				for _, s := range r.Saves {
					out = append(out, toSaveJSON(s))
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tSIZE\tTICK\tSURFACE\tSHA256\tCREATED")
				for _, s := range out {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, humanBytes(s.Size), s.Tick, orDash(s.Surface), s.Sha256[:12], s.Created)
				}
				return w.Flush()
			})
		},
	}

	get := &cobra.Command{
		Use:   "get NAME|SHA256",
		Short: "Describe a save and the surfaces made from it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				r, err := getSave(ctx, cl, args[0])
				if err != nil {
					return err
				}
				js := toSaveJSON(r.Save)
				js.Surfaces, js.Index = r.Surfaces, r.Index
				if o.json {
					return printJSON(cmd.OutOrStdout(), js)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "save:      %s\nsha256:    %s\nsize:      %s\nformat:    %d\nbundle:    %s\nstate:     %s on %s at tick %d\ncreated:   %s\nsurfaces:  %s\n",
					js.Name, js.Sha256, humanBytes(js.Size), js.FormatVersion, js.Bundle[:min(12, len(js.Bundle))], orDash(js.Surface), orDash(js.Planet), js.Tick,
					js.Created, orDash(strings.Join(js.Surfaces, ", ")))
				return nil
			})
		},
	}

	download := downloadCmd(o, "save", "sha256", "download NAME|SHA256 --out FILE", "Download a save's content (checked against its sha256)",
		"  starlane save download base --out base.sav",
		func(ctx context.Context, cl *ctlclient.Client, ref string) (string, uint64, error) {
			r, err := getSave(ctx, cl, ref)
			return r.GetSave().GetSha256(), r.GetSave().GetSize(), err
		})

	del := &cobra.Command{
		Use:   "delete NAME|SHA256",
		Short: "Delete a save (refused while a surface starts from it)",
		Long: `Delete a save, named as every save command takes it: its name, its sha256 or a
prefix of 8 or more hex digits of it (a prefix that matches several saves is refused).
A save a surface starts from cannot be deleted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			var idx uint64
			name := args[0]
			err := o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				// A hash or prefix names the save as the other save commands
				// take it; the controllers delete by name.
				sv, err := getSave(ctx, cl, args[0])
				if err != nil {
					return err
				}
				name = sv.GetSave().GetName()
				return cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
					r, err := pb.NewSaveServiceClient(cc).DeleteSave(ctx, &pb.DeleteSaveRequest{RequestId: rid, Name: name})
					idx = r.GetIndex()
					return err
				})
			})
			if err != nil {
				return err
			}
			return done(cmd, o, map[string]any{"deleted": name, "index": idx}, "deleted save %s", name)
		},
	}
	cmd.AddCommand(upload, list, get, download, del)
	return cmd
}

func getSave(ctx context.Context, cl *ctlclient.Client, ref string) (r *pb.GetSaveResponse, err error) {
	err = cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		r, err = pb.NewSaveServiceClient(cc).GetSave(ctx, &pb.GetSaveRequest{Name: ref})
		return err
	})
	return r, err
}

// saveNameOf derives a save name from a file name, without its extension.
func saveNameOf(file string) string {
	return validate.NameFrom(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
}

// uploadSave streams a save to a controller, resuming where an earlier upload
// of the same content stopped, and reports progress on w.
func uploadSave(ctx context.Context, cl *ctlclient.Client, name string, data []byte, info sim.SaveInfo, w io.Writer) (*pb.UploadSaveDone, error) {
	sum := sha256.Sum256(data)
	start := &pb.UploadSaveStart{RequestId: ctlclient.NewRequestID(), Name: name, Sha256: hex.EncodeToString(sum[:]), Size: uint64(len(data)),
		Tick: info.Tick, Surface: info.Name, Planet: info.Planet}
	last, err := uploadBlob(ctx, cl, "upload "+name, data,
		func(ctx context.Context, cc *grpc.ClientConn) (grpc.BidiStreamingClient[pb.UploadSaveRequest, pb.UploadSaveResponse], error) {
			return pb.NewSaveServiceClient(cc).UploadSave(ctx)
		},
		&pb.UploadSaveRequest{Msg: &pb.UploadSaveRequest_Start{Start: start}},
		func(c []byte) *pb.UploadSaveRequest {
			return &pb.UploadSaveRequest{Msg: &pb.UploadSaveRequest_Chunk{Chunk: c}}
		},
		func(m *pb.UploadSaveResponse) uint64 { return m.GetReady().GetOffset() }, w)
	if err != nil {
		return nil, err
	}
	if last.GetDone() == nil {
		return nil, status.Error(codes.Internal, "the controller ended the upload without an answer")
	}
	return last.GetDone(), nil
}

// uploadBlob runs the resumable upload exchange saves and bundles share: send
// start, read the offset the controller already holds from the ready answer,
// send the rest in 1 MiB chunks with a progress bar on w, and return the
// controller's last answer.
func uploadBlob[Req, Resp any](ctx context.Context, cl *ctlclient.Client, what string, data []byte,
	open func(context.Context, *grpc.ClientConn) (grpc.BidiStreamingClient[Req, Resp], error),
	start *Req, chunk func([]byte) *Req, offset func(*Resp) uint64, w io.Writer) (*Resp, error) {
	var last *Resp
	err := cl.Do(ctx, func(actx context.Context, cc *grpc.ClientConn) error {
		st, err := open(streamCtx(ctx, actx), cc)
		if err != nil {
			return err
		}
		if err := st.Send(start); err != nil {
			return recvErr(st, err, new(Resp))
		}
		m, err := st.Recv()
		if err != nil {
			return err
		}
		off := int(offset(m))
		p := newTransferBar(w, what, len(data))
		p.set(off)
		for off < len(data) {
			end := min(off+1<<20, len(data))
			if err := st.Send(chunk(data[off:end])); err != nil {
				return recvErr(st, err, new(Resp))
			}
			off = end
			p.set(off)
		}
		if err := st.CloseSend(); err != nil {
			return err
		}
		p.note("checking and copying to a majority of controllers")
		// That takes a Raft write, which waits out a leader election: say so
		// every few seconds rather than going silent.
		waitStart := time.Now()
		quiet := time.NewTicker(3 * time.Second)
		got := make(chan struct{})
		go func() {
			defer close(got)
			last, err = st.Recv()
		}()
		for waiting := true; waiting; {
			select {
			case <-got:
				waiting = false
			case <-quiet.C:
				p.note(fmt.Sprintf("still waiting for a majority of controllers to record it (%s; a leader election, or a controller copying it)",
					time.Since(waitStart).Round(time.Second)))
			}
		}
		quiet.Stop()
		p.end()
		return err
	})
	return last, err
}

// streamCtx is the context of a long transfer: the whole command's deadline
// (not one try's) with the try's metadata (the operator token).
func streamCtx(outer, try context.Context) context.Context {
	if md, ok := metadata.FromOutgoingContext(try); ok {
		return metadata.NewOutgoingContext(outer, md)
	}
	return outer
}

// recvErr returns the status that ended a stream whose Send failed; into
// receives a message the stream may still hold.
func recvErr(st grpc.ClientStream, sendErr error, into any) error {
	if errors.Is(sendErr, io.EOF) {
		if err := st.RecvMsg(into); err != nil {
			return err
		}
	}
	return sendErr
}

// downloadBlob fetches a blob from any controller into file, resuming from what
// an earlier try wrote, and checks its hash. A controller whose copy turns out
// damaged (it ends the transfer with DataLoss, and sets its copy aside) is left
// for the next one, starting over, and the command says which copy was bad.
func downloadBlob(ctx context.Context, cl *ctlclient.Client, hash string, size uint64, file string, w io.Writer) error {
	var buf bytes.Buffer
	var damaged []string
	var from string
	p := newTransferBar(w, "download "+filepath.Base(file), int(size))
	err := cl.Do(ctx, func(actx context.Context, cc *grpc.ClientConn) error {
		st, err := pb.NewBlobServiceClient(cc).FetchBlob(streamCtx(ctx, actx), &pb.FetchBlobRequest{Sha256: hash, Offset: uint64(buf.Len())})
		if err != nil {
			return err
		}
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				from = cc.Target()
				return nil
			}
			if status.Code(err) == codes.NotFound {
				return status.Error(codes.Unavailable, status.Convert(err).Message()) // another controller holds it
			}
			if status.Code(err) == codes.DataLoss {
				// What came so far is from the damaged copy: start over elsewhere.
				damaged = append(damaged, fmt.Sprintf("%s: %s", cc.Target(), status.Convert(err).Message()))
				buf.Reset()
				p.set(0)
				return status.Error(codes.Unavailable, status.Convert(err).Message())
			}
			if err != nil {
				return err
			}
			if uint64(buf.Len()+len(m.Data)) > size {
				return fmt.Errorf("the controller sent more than the %d bytes announced", size)
			}
			buf.Write(m.Data)
			p.set(buf.Len())
		}
	})
	p.end()
	for _, d := range damaged {
		if err == nil {
			fmt.Fprintf(w, "%s; downloaded from %s instead\n", d, from)
		} else {
			fmt.Fprintln(w, d)
		}
	}
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(buf.Bytes()); hex.EncodeToString(sum[:]) != hash {
		return fmt.Errorf("the downloaded content does not match its sha256 %s", hash[:12])
	}
	if file == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	return atomicfile.Write(file, buf.Bytes(), 0o644)
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// transferBar draws a one-line progress bar on a terminal, or a line every few
// seconds elsewhere, so a long transfer is never silent.
type transferBar struct {
	w     io.Writer
	what  string
	total int
	tty   bool
	last  time.Time
	shown bool
}

func newTransferBar(w io.Writer, what string, total int) *transferBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &transferBar{w: w, what: what, total: total, tty: tty}
}

func (p *transferBar) set(n int) {
	now := time.Now()
	every := 2 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.last) < every && n < p.total {
		return
	}
	p.last, p.shown = now, true
	pct := 100
	if p.total > 0 {
		pct = n * 100 / p.total
	}
	bar := strings.Repeat("#", pct/5) + strings.Repeat(".", 20-pct/5)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s [%s] %3d%% %s of %s", p.what, bar, pct, humanBytes(uint64(n)), humanBytes(uint64(p.total)))
		return
	}
	fmt.Fprintf(p.w, "%s: %d%% (%s of %s)\n", p.what, pct, humanBytes(uint64(n)), humanBytes(uint64(p.total)))
}

func (p *transferBar) note(msg string) {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "%s: %s\n", p.what, msg)
	p.shown = false
}

func (p *transferBar) end() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
	p.shown = false
}

// downloadCmd is the download command of one kind of blob (a save, a bundle):
// resolve names its content's hash and size, which downloadBlob fetches and checks.
// The JSON answer names the blob under kind and its hash under hashKey.
func downloadCmd(o *opFlags, kind, hashKey, use, short, example string,
	resolve func(ctx context.Context, cl *ctlclient.Client, ref string) (hash string, size uint64, err error)) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out FILE is required (- for standard output)")
			}
			if fi, err := os.Stat(out); err == nil && fi.IsDir() {
				return fmt.Errorf("--out %s is a directory; give a file name, such as %s", out, filepath.Join(out, args[0]+".sav"))
			}
			// Fail before the transfer, not after it, when the file cannot be made.
			if dir := filepath.Dir(out); out != "-" {
				if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("--out %s: directory %s does not exist", out, dir)
				} else if err == nil && !fi.IsDir() {
					return fmt.Errorf("--out %s: %s is not a directory", out, dir)
				}
			}
			var size uint64
			var hash string
			err := o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				var err error
				if hash, size, err = resolve(ctx, cl, args[0]); err != nil {
					return err
				}
				return downloadBlob(ctx, cl, hash, size, out, cmd.ErrOrStderr())
			})
			if err != nil {
				return err
			}
			if out == "-" {
				// The content went to standard output: the summary goes to stderr.
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s to standard output (%s %s)\n", humanBytes(size), hashKey, hash[:12])
				return nil
			}
			return done(cmd, o, map[string]any{kind: args[0], hashKey: hash, "size": size, "out": out},
				"wrote %s (%s, %s %s)", out, humanBytes(size), hashKey, hash[:12])
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (- for standard output)")
	return cmd
}

package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

type tokenJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Created   string `json:"created"`
	Expires   string `json:"expires,omitempty"`
	Revoked   bool   `json:"revoked"`
	CreatedBy string `json:"created_by,omitempty"`
	Secret    string `json:"secret,omitempty"`
	Index     uint64 `json:"index,omitempty"`
}

func msTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

func toTokenJSON(t *pb.OperatorToken) tokenJSON {
	return tokenJSON{ID: t.Id, Name: t.Name, Role: t.Role, Created: msTime(t.CreatedUnixMs), Expires: msTime(t.ExpiresUnixMs),
		Revoked: t.Revoked, CreatedBy: t.CreatedBy}
}

func newTokenCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Operator tokens: who may read, operate or administer the cluster",
		Long: `Every operator call carries a token (--token or STARLANE_TOKEN). A token has a
role: read (lists, status, audit), operate (create, move, drain, bridges, players)
or admin (tokens, the join token, snapshots, controllers, deletes); each role
includes the ones below it. The controllers keep only each token's sha256, so a
token is shown once, when it is created.`,
	}
	o.add(cmd)
	var role, name string
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create [NAME] --role ROLE [--ttl D]",
		Short: "Create a token and print it (once)",
		Example: `  starlane token create grafana --role read
  starlane token create --role operate --ttl 24h --name alice`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if name != "" && name != args[0] {
					return fmt.Errorf("the token is named twice (%q and --name %q): give one", args[0], name)
				}
				name = args[0]
			}
			r, err := authz.ParseOpRole(role)
			if err != nil {
				return err
			}
			if ttl < 0 {
				return fmt.Errorf("--ttl %v: give a positive duration, or 0 for a token that does not expire", ttl)
			}
			if ttl > 0 && ttl < time.Second {
				// The controllers keep a lifetime in whole seconds; rounding down
				// would make 0, a token that never expires.
				return fmt.Errorf("--ttl %v: a token lives whole seconds; give at least 1s, or leave --ttl out for one that does not expire", ttl)
			}
			if name == "" {
				name = r.String()
			}
			if max := time.Duration(validate.MaxTokenTTLSeconds) * time.Second; ttl < 0 || ttl > max {
				return fmt.Errorf("--ttl %v: a token lives at most %v (ten years); leave --ttl out for one that does not expire", ttl, max)
			}
			rid := ctlclient.NewRequestID()
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				res, err := c.CreateToken(ctx, &pb.CreateTokenRequest{RequestId: rid, Name: name, Role: r.String(), TtlSeconds: int64((ttl + time.Second - 1) / time.Second)})
				if err != nil {
					return err
				}
				if res.Secret == "" {
					return fmt.Errorf("token %s was created but its secret was lost on a retry; revoke it and create another", res.Token.GetId())
				}
				if o.json {
					js := toTokenJSON(res.Token)
					js.Secret, js.Index = res.Secret, res.Index
					return printJSON(cmd.OutOrStdout(), js)
				}
				exp := "never expires"
				if res.Token.ExpiresUnixMs != 0 {
					exp = "expires " + msTime(res.Token.ExpiresUnixMs)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created %s token %s (%s, %s); it is shown only now:\n", res.Token.Role, res.Token.Name, res.Token.Id, exp)
				fmt.Fprintln(cmd.OutOrStdout(), res.Secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "read, operate or admin")
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 24h (default: does not expire)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise it by (default: the role)")
	_ = create.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := c.ListTokens(ctx, &pb.ListTokensRequest{})
				if err != nil {
					return err
				}
				if o.json {
					out := []tokenJSON{}
					for _, t := range r.Tokens {
						out = append(out, toTokenJSON(t))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tROLE\tCREATED\tEXPIRES\tSTATE")
				now := time.Now().UnixMilli()
				for _, t := range r.Tokens {
					state := "active"
					switch {
					case t.Revoked:
						state = "revoked " + msTime(t.RevokedUnixMs)
					case t.ExpiresUnixMs != 0 && t.ExpiresUnixMs <= now:
						state = "expired"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Id, t.Name, t.Role, msTime(t.CreatedUnixMs), orDash(msTime(t.ExpiresUnixMs)), state)
				}
				return w.Flush()
			})
		},
	}
	var ignoreRevoked bool
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (by the id `token list` shows)",
		Long: `Revoke a token (by the id ` + "`token list`" + ` shows). A token that was already revoked is
an error (exit status 1), as a delete of what is gone is in kubectl; with
--ignore-revoked it is done (exit status 0, "already_revoked": true in --json).`,
		Example: `  starlane token revoke 3f2a9c01d4e5`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := c.RevokeToken(ctx, &pb.RevokeTokenRequest{RequestId: rid, Id: args[0]})
				if status.Code(err) == codes.FailedPrecondition && tokenRevoked(ctx, c, args[0]) {
					if !ignoreRevoked {
						return fmt.Errorf("%s (--ignore-revoked treats an already revoked token as done)", status.Convert(err).Message())
					}
					return done(cmd, o, map[string]any{"revoked": args[0], "already_revoked": true}, "token %s was already revoked", args[0])
				}
				if err != nil {
					return err
				}
				return done(cmd, o, map[string]any{"revoked": args[0], "index": r.Index}, "revoked token %s (index %d)", args[0], r.Index)
			})
		},
	}
	revoke.Flags().BoolVar(&ignoreRevoked, "ignore-revoked", false, "a token that was already revoked is done, not an error (exit status 0)")
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// tokenRevoked says whether the token with this id is known to be revoked: a
// revoke refused for that reason, not another (the last admin token).
func tokenRevoked(ctx context.Context, c pb.AccessServiceClient, id string) bool {
	r, err := c.ListTokens(ctx, &pb.ListTokensRequest{})
	if err != nil {
		return false
	}
	for _, t := range r.Tokens {
		if t.Id == id {
			return t.Revoked
		}
	}
	return false
}

type playerJSON struct {
	Name        string `json:"name"`
	Admin       bool   `json:"admin"`
	Banned      bool   `json:"banned"`
	BanReason   string `json:"ban_reason,omitempty"`
	Whitelisted bool   `json:"whitelisted"`
	Created     string `json:"created"`
	Key         string `json:"key,omitempty"`
	Index       uint64 `json:"index,omitempty"`
	// Unchanged is set when unban --ignore-not-banned found the player not banned.
	Unchanged bool `json:"unchanged,omitempty"`
}

// playerNamed returns the player called name, or nil if it cannot be read.
func playerNamed(ctx context.Context, c pb.AccessServiceClient, name string) *pb.Player {
	r, err := ctlclient.ListPlayers(ctx, c)
	if err != nil {
		return nil
	}
	for _, p := range r.Players {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func toPlayerJSON(p *pb.Player) playerJSON {
	return playerJSON{Name: p.GetName(), Admin: p.GetAdmin(), Banned: p.GetBanned(), BanReason: p.GetBanReason(), Whitelisted: p.GetWhitelisted(),
		Created: msTime(p.GetCreatedUnixMs())}
}

func newPlayerCmd() *cobra.Command {
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "player",
		Short: "Players: identities, admins, bans and the whitelist",
		Long: `A player is a name and a key. ` + "`starlane play`" + ` and ` + "`starlane bot`" + ` trade the key
(or an operator token) for a short-lived ticket signed by the controllers, and
nodes admit only the ticket's player. Bans take effect at once: a banned
player's sessions are closed and no new ticket is issued.`,
	}
	o.add(cmd)
	var admin, whitelisted bool
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Register a player and print its key (once)",
		Example: `  starlane player create alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rid := ctlclient.NewRequestID()
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := c.CreatePlayer(ctx, &pb.CreatePlayerRequest{RequestId: rid, Name: args[0], Admin: admin, Whitelisted: whitelisted})
				if err != nil {
					return err
				}
				if o.json {
					js := toPlayerJSON(r.Player)
					js.Key, js.Index = r.Key, r.Index
					return printJSON(cmd.OutOrStdout(), js)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created player %s; give them this key (shown only now), for --player-key or STARLANE_PLAYER_KEY:\n", args[0])
				fmt.Fprintln(cmd.OutOrStdout(), r.Key)
				return nil
			})
		},
	}
	create.Flags().BoolVar(&admin, "admin", false, "make the player an admin")
	create.Flags().BoolVar(&whitelisted, "whitelist", false, "put the player on the whitelist")

	list := &cobra.Command{
		Use:   "list",
		Short: "List players",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := ctlclient.ListPlayers(ctx, c)
				if err != nil {
					return err
				}
				if o.json {
					out := []playerJSON{}
					for _, p := range r.Players {
						out = append(out, toPlayerJSON(p))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tADMIN\tWHITELISTED\tBANNED")
				for _, p := range r.Players {
					ban := "-"
					if p.Banned {
						ban = "yes " + validate.Escape(p.BanReason)
					}
					fmt.Fprintf(w, "%s\t%t\t%t\t%s\n", p.Name, p.Admin, p.Whitelisted, ban)
				}
				return w.Flush()
			})
		},
	}
	var ignoreNotBanned bool
	set := func(use, short string, req func(name string) *pb.SetPlayerRequest, word string) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				r := req(args[0])
				if r.Banned != nil && *r.Banned && len(args) > 1 {
					r.BanReason = strings.Join(args[1:], " ")
				} else if len(args) > 1 {
					return fmt.Errorf("%s takes one player name", strings.Fields(use)[0])
				}
				r.RequestId = ctlclient.NewRequestID()
				return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
					res, err := c.SetPlayer(ctx, r)
					if unban := r.Banned != nil && !*r.Banned; unban && status.Code(err) == codes.FailedPrecondition {
						if p := playerNamed(ctx, c, args[0]); p != nil && !p.Banned {
							if !ignoreNotBanned {
								return fmt.Errorf("%s (--ignore-not-banned treats this as done)", status.Convert(err).Message())
							}
							if o.json {
								js := toPlayerJSON(p)
								js.Unchanged = true
								return printJSON(cmd.OutOrStdout(), js)
							}
							fmt.Fprintf(cmd.OutOrStdout(), "player %s is not banned\n", args[0])
							return nil
						}
					}
					if err != nil {
						return err
					}
					if o.json {
						js := toPlayerJSON(res.Player)
						js.Index = res.Index
						return printJSON(cmd.OutOrStdout(), js)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "player %s %s (index %d)\n", args[0], word, res.Index)
					return nil
				})
			},
		}
	}
	t, f := true, false
	ban := set("ban NAME [REASON...]", "Ban a player: their sessions close, no new ticket", func(n string) *pb.SetPlayerRequest {
		return &pb.SetPlayerRequest{Name: n, Banned: &t}
	}, "banned")
	unban := set("unban NAME", "Lift a ban", func(n string) *pb.SetPlayerRequest { return &pb.SetPlayerRequest{Name: n, Banned: &f} }, "unbanned")
	unban.Long = `Lift a ban. A player who is not banned is an error (exit status 1), as a delete
of what is gone is in kubectl; with --ignore-not-banned it is done (exit status 0,
"unchanged": true in --json).`
	unban.Flags().BoolVar(&ignoreNotBanned, "ignore-not-banned", false, "a player who is not banned is done, not an error (exit status 0)")
	var remove bool
	adminCmd := set("admin NAME", "Make a player an admin (--remove: no longer)", func(n string) *pb.SetPlayerRequest {
		v := !remove
		return &pb.SetPlayerRequest{Name: n, Admin: &v}
	}, "updated")
	adminCmd.Flags().BoolVar(&remove, "remove", false, "take the admin right away")
	var wlRemove bool
	wl := set("whitelist NAME", "Put a player on the whitelist (--remove: off it)", func(n string) *pb.SetPlayerRequest {
		v := !wlRemove
		return &pb.SetPlayerRequest{Name: n, Whitelisted: &v}
	}, "updated")
	wl.Flags().BoolVar(&wlRemove, "remove", false, "take the player off the whitelist")

	var selfReg, whitelist string
	settings := &cobra.Command{
		Use:   "settings [--self-register on|off] [--whitelist on|off]",
		Short: "Show or change self-registration and the whitelist switch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cur *pb.AccessSettings
			if err := o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := c.GetAccessSettings(ctx, &pb.GetAccessSettingsRequest{})
				cur = r.GetSettings()
				return err
			}); err != nil {
				return err
			}
			if cur == nil {
				cur = &pb.AccessSettings{}
			}
			changed := false
			for _, s := range []struct {
				flag, v string
				dst     *bool
			}{{"self-register", selfReg, &cur.SelfRegister}, {"whitelist", whitelist, &cur.Whitelist}} {
				switch s.v {
				case "":
				case "on":
					*s.dst, changed = true, true
				case "off":
					*s.dst, changed = false, true
				default:
					return fmt.Errorf("--%s %q: use on or off", s.flag, s.v)
				}
			}
			if changed {
				rid := ctlclient.NewRequestID()
				if err := o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
					_, err := c.SetAccessSettings(ctx, &pb.SetAccessSettingsRequest{RequestId: rid, Settings: cur})
					return err
				}); err != nil {
					return err
				}
			}
			return done(cmd, o, map[string]any{"self_register": cur.SelfRegister, "whitelist": cur.Whitelist},
				"self-registration %s, whitelist %s", onOff(cur.SelfRegister), onOff(cur.Whitelist))
		},
	}
	settings.Flags().StringVar(&selfReg, "self-register", "", "on: unknown players register themselves with their first ticket")
	settings.Flags().StringVar(&whitelist, "whitelist", "", "on: only whitelisted players and admins may join")
	cmd.AddCommand(create, list, ban, unban, adminCmd, wl, settings)
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

type auditJSON struct {
	Index   uint64 `json:"index"`
	Time    string `json:"time"`
	Who     string `json:"who"`
	TokenID string `json:"token_id,omitempty"`
	Role    string `json:"role,omitempty"`
	Method  string `json:"method"`
	What    string `json:"what"`
	Outcome string `json:"outcome"`
	Message string `json:"message,omitempty"`
}

func newAuditCmd() *cobra.Command {
	o := &opFlags{}
	var limit uint32
	cmd := &cobra.Command{
		Use:   "audit [--limit N]",
		Short: "Show the audit log: every operator write, who asked, when and how it ended",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.access(func(ctx context.Context, c pb.AccessServiceClient) error {
				r, err := c.ListAudit(ctx, &pb.ListAuditRequest{Limit: limit})
				if err != nil {
					return err
				}
				out := []auditJSON{}
				for _, e := range r.Entries {
					outcome := "ok"
					if e.Code != 0 {
						outcome = strings.ToLower(codeName(e.Code))
					}
					out = append(out, auditJSON{Index: e.Index, Time: msTime(e.UnixMs), Who: e.Who, TokenID: e.TokenId, Role: e.Role,
						Method: e.Method, What: e.What, Outcome: outcome, Message: e.Message})
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), out)
				}
				if r.Dropped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "(%d older entries were trimmed)\n", r.Dropped)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "TIME\tWHO\tMETHOD\tOUTCOME\tWHAT")
				for _, e := range out {
					oc := e.Outcome
					if e.Message != "" && oc != "ok" {
						oc += ": " + e.Message
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Time, validate.Escape(e.Who), e.Method, validate.Escape(oc), validate.Escape(e.What))
				}
				return w.Flush()
			})
		},
	}
	o.add(cmd)
	cmd.Flags().Uint32Var(&limit, "limit", 0, "show only the newest N entries")
	return cmd
}

func codeName(c uint32) string { return codes.Code(c).String() }

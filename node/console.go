package node

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// consoleHelp lists the console's commands, as /help shows them.
const consoleHelp = `/players            connected players per surface
/kick NAME [REASON]  close a player's sessions on this node
/ban NAME [REASON]   ban a player cluster-wide (needs --rcon-token-file) and kick them
/unban NAME          lift a ban (needs --rcon-token-file)
/save [SURFACE]      checkpoint each primary surface here (or one) now, and write it as a save
/time                each surface's tick and game time
/evolution           a status line per surface: tick, UPS, entities, players, epoch
/show-time-usage     per-surface tick cost over the last second
/help                this list`

// Console runs one console command line (RCON) and returns its output, in the
// game's style: short lines, one per surface where it applies.
func (n *Node) Console(ctx context.Context, line string) string {
	f := strings.Fields(strings.TrimSpace(line))
	if len(f) == 0 {
		return "type /help for the commands"
	}
	cmd, args := strings.TrimPrefix(strings.ToLower(f[0]), "/"), f[1:]
	switch cmd {
	case "help":
		return consoleHelp
	case "players":
		return n.consolePlayers()
	case "kick":
		if len(args) == 0 {
			return "usage: /kick NAME [REASON]"
		}
		reason := strings.Join(args[1:], " ")
		msg := "kicked by an admin"
		if reason != "" {
			msg += ": " + reason
		}
		k := n.gate.kick(args[0], status.Error(codes.PermissionDenied, msg))
		if k == 0 {
			return fmt.Sprintf("player %s is not connected to node %s", args[0], n.id)
		}
		return fmt.Sprintf("kicked %s (%s)", args[0], words.Plural(k, "session"))
	case "ban", "unban":
		if len(args) == 0 {
			return "usage: /" + cmd + " NAME [REASON]"
		}
		return n.consoleBan(ctx, cmd == "ban", args[0], strings.Join(args[1:], " "))
	case "save":
		return n.consoleSave(ctx, args)
	case "time":
		return n.eachPrimary(func(name string, sh *shard.Shard, st shard.Stats) string {
			return fmt.Sprintf("%s: tick %d, %s of game time", name, st.Confirmed, gameTime(st.Confirmed))
		})
	case "evolution", "status":
		return n.eachPrimary(func(name string, sh *shard.Shard, st shard.Stats) string {
			return fmt.Sprintf("%s: tick %d (confirmed %d), %.1f UPS, %d entities, %d players, epoch %d%s",
				name, st.Tick, st.Confirmed, st.UPS, st.Entities, st.Players, st.Epoch, fenced(st))
		})
	case "show-time-usage":
		return n.eachPrimary(func(name string, sh *shard.Shard, st shard.Stats) string {
			budget := float64(st.TickCost) / float64(time.Second/60) * 100
			return fmt.Sprintf("%s: %.3f ms per tick (%.0f%% of a 60 UPS tick), %.1f UPS", name, float64(st.TickCost)/float64(time.Millisecond), budget, st.UPS)
		})
	}
	return fmt.Sprintf("unknown command /%s; type /help", cmd)
}

func fenced(st shard.Stats) string {
	if st.Fenced {
		return " (fenced: lease lost)"
	}
	return ""
}

func gameTime(tick uint64) string {
	return (time.Duration(tick) * time.Second / 60).Truncate(time.Second).String()
}

// eachPrimary runs fn for every surface whose primary runs here, by name.
func (n *Node) eachPrimary(fn func(name string, sh *shard.Shard, st shard.Stats) string) string {
	n.mu.Lock()
	var names []string
	shards := map[string]*shard.Shard{}
	for name, h := range n.shards {
		if h.role == pb.ShardRole_SHARD_ROLE_PRIMARY && h.sh != nil {
			names = append(names, name)
			shards[name] = h.sh
		}
	}
	n.mu.Unlock()
	if len(names) == 0 {
		return fmt.Sprintf("node %s runs no surface's primary", n.id)
	}
	slices.Sort(names)
	var lines []string
	for _, name := range names {
		lines = append(lines, fn(name, shards[name], shards[name].Stats()))
	}
	return strings.Join(lines, "\n")
}

func (n *Node) consolePlayers() string {
	bySurface := n.gate.players()
	if len(bySurface) == 0 {
		return fmt.Sprintf("no players connected to node %s", n.id)
	}
	var lines []string
	for _, sp := range bySurface {
		lines = append(lines, fmt.Sprintf("%s (%d): %s", sp.surface, len(sp.players), strings.Join(sp.players, ", ")))
	}
	return strings.Join(lines, "\n")
}

func (n *Node) consoleBan(ctx context.Context, ban bool, name, reason string) string {
	var kicked int
	if ban {
		msg := "banned by an admin"
		if reason != "" {
			msg += ": " + reason
		}
		if n.cfg.ConsoleToken == "" {
			kicked = n.gate.kick(name, status.Error(codes.PermissionDenied, msg))
		} else {
			kicked = n.gate.ban(name, status.Error(codes.PermissionDenied, msg))
		}
	}
	if n.cfg.ConsoleToken == "" {
		if ban {
			return fmt.Sprintf("kicked %s (%d sessions) but could not ban them: this node has no operator token for the console (--rcon-token-file); run `starlane player ban %s`", name, kicked, name)
		}
		return fmt.Sprintf("cannot unban %s: this node has no operator token for the console (--rcon-token-file); run `starlane player unban %s`", name, name)
	}
	cl, err := ctlclient.Dial(n.cfg.Controllers, n.cfg.TLS)
	if err != nil {
		return "ban failed: " + err.Error()
	}
	defer cl.Close()
	cl.Token = n.cfg.ConsoleToken
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := &pb.SetPlayerRequest{RequestId: ctlclient.NewRequestID(), Name: name, Banned: &ban}
	if ban {
		req.BanReason = reason
	}
	err = cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := pb.NewAccessServiceClient(cc).SetPlayer(ctx, req)
		return err
	})
	if err != nil {
		if ban {
			n.gate.unban(name) // not recorded: the ban does not hold here either
		}
		return fmt.Sprintf("could not %s %s: %s", map[bool]string{true: "ban", false: "unban"}[ban], name, status.Convert(err).Message())
	}
	if !ban {
		n.gate.unban(name)
		return fmt.Sprintf("unbanned %s", name)
	}
	return fmt.Sprintf("banned %s cluster-wide (%s here closed)", name, words.Plural(kicked, "session"))
}

// playerCommands are the console commands every player may use in chat; the
// others are for admins.
var (
	playerCommands = map[string]bool{"help": true, "players": true, "time": true}
	adminCommands  = map[string]bool{"kick": true, "ban": true, "unban": true, "save": true, "evolution": true, "status": true, "show-time-usage": true}
)

// chatCommand tells a chat line that is a console command ("/kick bob") from
// one to say; it returns the command line.
func chatCommand(m *pb.ChatSend) (string, bool) {
	t := strings.TrimSpace(m.GetText())
	if !strings.HasPrefix(t, "/") || len(t) < 2 || t[1] == ' ' {
		return "", false
	}
	return t, true
}

// playerCommand runs a console command a player typed in chat: /help, /players
// and /time for anyone, the rest (/kick, /ban, /unban, /save, …) only for a
// player whose ticket says admin and who is still one.
func (n *Node) playerCommand(ctx context.Context, player, line string) string {
	cmd := strings.TrimPrefix(strings.ToLower(strings.Fields(line)[0]), "/")
	if cmd == "help" {
		if n.gate.isAdmin(player) {
			return consoleHelp
		}
		return "/players            connected players per surface\n/time               each surface's tick and game time\n/help                this list\n(the other console commands are for admins)"
	}
	if !playerCommands[cmd] && !n.gate.isAdmin(player) {
		if !adminCommands[cmd] {
			return fmt.Sprintf("unknown command /%s; type /help", cmd)
		}
		return fmt.Sprintf("/%s is for admins, and %s is not one (an operator makes a player admin with `starlane player admin NAME`)", cmd, player)
	}
	return n.Console(ctx, line)
}

// consoleSavesKept is how many console saves of a surface DATA_DIR/saves keeps:
// a script or an admin saving again and again must not fill the node's disk.
const consoleSavesKept = 10

// consoleSave checkpoints the primaries (all, or the one named) now and writes
// each checkpoint as a save into DATA_DIR/saves, keeping each surface's newest
// consoleSavesKept; it answers with their ticks.
func (n *Node) consoleSave(ctx context.Context, args []string) string {
	dir := filepath.Join(n.cfg.DataDir, "saves")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "save failed: " + err.Error()
	}
	saved := 0
	out := n.eachPrimary(func(name string, sh *shard.Shard, _ shard.Stats) string {
		if len(args) > 0 && args[0] != name {
			return ""
		}
		saved++
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		tick, err := sh.Checkpoint(cctx)
		if err != nil {
			return fmt.Sprintf("%s: not saved: %v", name, err)
		}
		cp, err := sh.LatestCheckpoint()
		if err != nil {
			return fmt.Sprintf("%s: checkpoint at tick %d, but no save file: %v", name, tick, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-t%d.save", name, cp.Tick))
		if err := atomicfile.Write(file, cp.Data, 0o600); err != nil {
			return fmt.Sprintf("%s: checkpoint at tick %d, but no save file: %v", name, cp.Tick, err)
		}
		msg := fmt.Sprintf("%s: saved tick %d (checkpoint taken now) to %s (%d bytes)", name, cp.Tick, file, len(cp.Data))
		if removed := pruneConsoleSaves(dir, name, consoleSavesKept); removed > 0 {
			msg += fmt.Sprintf("; removed %s of %s (the newest %d are kept)", words.Plural(removed, "older console save"), name, consoleSavesKept)
		}
		return msg
	})
	if len(args) > 0 && saved == 0 {
		return fmt.Sprintf("surface %s has no primary on node %s", args[0], n.id)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// pruneConsoleSaves removes surface's console saves (SURFACE-tTICK.save) in dir
// beyond the newest keep, by tick, and returns how many it removed.
func pruneConsoleSaves(dir, surface string, keep int) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	type save struct {
		tick uint64
		name string
	}
	var saves []save
	prefix := surface + "-t"
	for _, e := range entries {
		mid, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		mid, ok = strings.CutSuffix(mid, ".save")
		if !ok {
			continue
		}
		tick, err := strconv.ParseUint(mid, 10, 64)
		if err != nil || !e.Type().IsRegular() {
			continue // another surface's (a name with "-t" in it), or not a save
		}
		saves = append(saves, save{tick, e.Name()})
	}
	if len(saves) <= keep {
		return 0
	}
	slices.SortFunc(saves, func(a, b save) int { return cmp.Compare(b.tick, a.tick) })
	removed := 0
	for _, sv := range saves[keep:] {
		if os.Remove(filepath.Join(dir, sv.name)) == nil {
			removed++
		}
	}
	return removed
}

package controller

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

const (
	// stateFormat is ClusterState.format_version written by this version.
	stateFormat = 1
	// maxEvents is how many events the FSM keeps at least (up to twice as many, so
	// that trimming is amortised); Watch resends the full state to a watcher that
	// asks for older ones.
	maxEvents = 4096
	// dedupWindowMS is how long a request ID is remembered (command time).
	dedupWindowMS = 15 * 60 * 1000
	// maxDedup bounds the request-ID table.
	maxDedup = 200_000
	// MaxReplicas is the largest replica count a surface may ask for.
	MaxReplicas = 7
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// state is the replicated catalog. Records are immutable once stored: Apply
// replaces a record with a modified clone, so a snapshot only copies the maps.
type state struct {
	index        uint64
	controllers  map[string]*pb.ControllerInfo
	nodes        map[string]*pb.Node
	surfaces     map[string]*pb.Surface
	bridges      map[string]*pb.Bridge
	events       []*pb.Event
	droppedUpTo  uint64 // highest index of an event no longer kept
	nextEventSeq uint64
	joinToken    string
	dedup        map[string]*pb.DedupEntry
	dedupOrder   []string // insertion order; entries before dedupHead are expired
	dedupHead    int
	lastUnixMS   int64
	// saves are the uploaded saves by name; their content is in the
	// controllers' blob stores (fsm_saves.go).
	saves map[string]*pb.SaveInfo
	// bundles are the uploaded prototype bundles by name (fsm_bundles.go).
	bundles map[string]*pb.BundleInfo
	// contentGen counts changes to saves and bundles (records added or
	// removed), so that what keeps their content wakes only for those. Not
	// part of the snapshot: it only orders wake-ups on this member.
	contentGen uint64
	// access holds operator tokens, players, the audit log and chat (fsm_access.go).
	access accessState
}

func newState() *state {
	return &state{
		controllers: map[string]*pb.ControllerInfo{},
		nodes:       map[string]*pb.Node{},
		surfaces:    map[string]*pb.Surface{},
		bridges:     map[string]*pb.Bridge{},
		dedup:       map[string]*pb.DedupEntry{},
		saves:       map[string]*pb.SaveInfo{},
		bundles:     map[string]*pb.BundleInfo{},
		access:      newAccessState(),
	}
}

// FSM is the controller's Raft state machine. It implements raft.BatchingFSM.
// Apply is deterministic: it reads nothing but the command and the state.
type FSM struct {
	log *slog.Logger

	mu      sync.RWMutex
	st      *state
	changed chan struct{} // closed and replaced after every applied batch
	// tokenChanged, contentChanged and chatChanged are closed and replaced
	// when the join token, the saves and bundles, or the chat log change, so
	// the token-file writer, the blob sync and the chat streams do not wake up
	// for every write.
	tokenChanged, contentChanged, chatChanged chan struct{}

	// halt is set by the first committed entry that does not verify: from then
	// on nothing is applied (halted is closed), since skipping an entry would
	// make this member's state differ from its peers'.
	halt     *HaltError
	halted   chan struct{}
	haltOnce sync.Once
}

// HaltError is a committed log entry the FSM could not apply; the FSM applies
// nothing after it.
type HaltError struct {
	Index uint64
	Err   error
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("committed Raft log entry %d cannot be applied: %v", e.Index, e.Err)
}

// Halted is closed once the FSM stopped applying; Halt then returns why.
func (f *FSM) Halted() <-chan struct{} { return f.halted }

// Halt returns the entry the FSM stopped at, or nil.
func (f *FSM) Halt() *HaltError {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.halt
}

// NewFSM returns an empty FSM.
func NewFSM(log *slog.Logger) *FSM {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FSM{log: log, st: newState(), changed: make(chan struct{}), tokenChanged: make(chan struct{}),
		contentChanged: make(chan struct{}), chatChanged: make(chan struct{}), halted: make(chan struct{})}
}

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one log entry.
func (f *FSM) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries under one lock acquisition.
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	f.mu.Lock()
	before := f.st.marks()
	for i, l := range logs {
		if f.halt != nil {
			out[i] = &pb.CommandResult{Code: uint32(codes.Unavailable), Message: "this controller stopped applying the Raft log: " + f.halt.Error(), Index: l.Index}
			continue
		}
		if l.Type == raft.LogCommand {
			cmd, err := verifyCommand(l.Data, l.Extensions)
			if err != nil {
				f.halt = &HaltError{Index: l.Index, Err: err}
				f.log.Error("committed Raft log entry cannot be applied; this controller stops applying and serving", "index", l.Index, "err", err)
				f.haltOnce.Do(func() { close(f.halted) })
				out[i] = &pb.CommandResult{Code: uint32(codes.Unavailable), Message: "this controller stopped applying the Raft log: " + f.halt.Error(), Index: l.Index}
				continue
			}
			out[i] = f.st.apply(l.Index, cmd, f.log)
		}
		if l.Index > f.st.index {
			f.st.index = l.Index
		}
	}
	wake := f.swapNotifyLocked(before, false)
	f.mu.Unlock()
	wake()
	return out
}

// notifyMarks is what of the state the topic channels (TokenChanged,
// ContentChanged, ChatChanged) follow.
type notifyMarks struct {
	token      string
	contentGen uint64
	lastChat   uint64
}

func (s *state) marks() notifyMarks {
	m := notifyMarks{token: s.joinToken, contentGen: s.contentGen}
	if n := len(s.access.chat); n > 0 {
		m.lastChat = s.access.chat[n-1].Index
	}
	return m
}

// swapNotifyLocked replaces the Changed channel, and each topic channel whose
// part of the state differs from before, and returns a function that closes the
// old ones (to call after unlocking). A restored snapshot wakes every topic.
// f.mu must be held.
func (f *FSM) swapNotifyLocked(before notifyMarks, restored bool) func() {
	after := f.st.marks()
	every := restored
	closing := []chan struct{}{f.changed}
	f.changed = make(chan struct{})
	if every || after.token != before.token {
		closing = append(closing, f.tokenChanged)
		f.tokenChanged = make(chan struct{})
	}
	if every || after.contentGen != before.contentGen {
		closing = append(closing, f.contentChanged)
		f.contentChanged = make(chan struct{})
	}
	if every || after.lastChat != before.lastChat {
		closing = append(closing, f.chatChanged)
		f.chatChanged = make(chan struct{})
	}
	return func() {
		for _, ch := range closing {
			close(ch)
		}
	}
}

// apply runs one decoded command; it is what ApplyBatch and tests call.
func (s *state) apply(index uint64, cmd *pb.Command, log *slog.Logger) *pb.CommandResult {
	if cmd.UnixMs > s.lastUnixMS {
		s.lastUnixMS = cmd.UnixMs
	}
	s.expireDedup(cmd.UnixMs)
	if cmd.RequestId != "" {
		if d, ok := s.dedup[cmd.RequestId]; ok {
			if len(d.RequestHash) > 0 && len(cmd.RequestHash) > 0 && !bytes.Equal(d.RequestHash, cmd.RequestHash) {
				// Not a retry: another write under an ID already used. Answering
				// with the first one's outcome would report it done.
				return &pb.CommandResult{Code: uint32(codes.InvalidArgument), Index: index,
					Message: fmt.Sprintf("request_id %q was already used for another request in the last %d minutes; give each write its own request_id (a retry of the same write reuses it)", cmd.RequestId, dedupWindowMS/60000)}
			}
			return d.Result
		}
	}
	code, msg := s.applyOp(index, cmd)
	if cmd.Actor != nil {
		s.access.record(index, cmd.UnixMs, cmd.Actor, code, msg)
	}
	if code == codes.Unimplemented && log != nil {
		log.Error("raft command unknown to this controller version; upgrade this controller", "index", index)
	}
	res := &pb.CommandResult{Code: uint32(code), Message: msg, Index: index}
	if cmd.RequestId != "" {
		s.dedup[cmd.RequestId] = &pb.DedupEntry{RequestId: cmd.RequestId, UnixMs: cmd.UnixMs, Result: res, RequestHash: cmd.RequestHash}
		s.dedupOrder = append(s.dedupOrder, cmd.RequestId)
	}
	return res
}

func (s *state) expireDedup(now int64) {
	for s.dedupHead < len(s.dedupOrder) {
		id := s.dedupOrder[s.dedupHead]
		d := s.dedup[id]
		if d != nil && d.UnixMs >= now-dedupWindowMS && len(s.dedupOrder)-s.dedupHead <= maxDedup {
			break
		}
		delete(s.dedup, id)
		s.dedupHead++
	}
	// Compact only when half the slice is dead, so expiry stays O(1) amortised.
	if s.dedupHead > 1024 && s.dedupHead*2 > len(s.dedupOrder) {
		s.dedupOrder = slices.Clone(s.dedupOrder[s.dedupHead:])
		s.dedupHead = 0
	}
}

func (s *state) event(index uint64, unixMS int64, kind, subject, msg string) {
	s.nextEventSeq++
	s.events = append(s.events, &pb.Event{Index: index, Seq: s.nextEventSeq, UnixMs: unixMS, Kind: kind, Subject: subject, Message: msg})
	if len(s.events) >= 2*maxEvents {
		drop := len(s.events) - maxEvents
		s.droppedUpTo = s.events[drop-1].Index
		s.events = slices.Clone(s.events[drop:])
	}
}

func fail(c codes.Code, format string, args ...any) (codes.Code, string) {
	return c, fmt.Sprintf(format, args...)
}

// applyOp changes the state for one command. It returns a gRPC code and message;
// a non-OK outcome changes nothing.
func (s *state) applyOp(index uint64, cmd *pb.Command) (codes.Code, string) {
	now := cmd.UnixMs
	switch op := cmd.Op.(type) {
	case *pb.Command_RegisterController:
		c := op.RegisterController
		if c.Id == "" || c.RaftAddress == "" {
			return fail(codes.InvalidArgument, "controller needs an id and a raft address")
		}
		info := &pb.ControllerInfo{Id: c.Id, RaftAddress: c.RaftAddress, ApiAddress: c.ApiAddress}
		if old := s.controllers[c.Id]; old != nil && proto.Equal(old, info) {
			return codes.OK, ""
		}
		s.controllers[c.Id] = info
		s.event(index, now, "controller.registered", c.Id, fmt.Sprintf("controller %s: raft %s, api %s", c.Id, c.RaftAddress, c.ApiAddress))

	case *pb.Command_RemoveController:
		id := op.RemoveController.Id
		if s.controllers[id] == nil {
			return codes.OK, ""
		}
		delete(s.controllers, id)
		s.event(index, now, "controller.removed", id, "controller "+id+" left the cluster")

	case *pb.Command_SetJoinToken:
		t := op.SetJoinToken
		if t.Token == "" {
			return fail(codes.InvalidArgument, "empty join token")
		}
		if t.OnlyIfUnset && s.joinToken != "" {
			return codes.OK, ""
		}
		s.joinToken = t.Token
		s.event(index, now, "cluster.join_token", "", "node join token set")

	case *pb.Command_RegisterNode:
		n := op.RegisterNode.GetNode()
		if n == nil || !nameRE.MatchString(n.Id) {
			return fail(codes.InvalidArgument, "node id %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", n.GetId())
		}
		nn := &pb.Node{
			Id: n.Id, Address: n.Address, Capacity: proto.Clone(orEmpty(n.Capacity)).(*pb.NodeCapacity),
			Labels: maps.Clone(n.Labels), Version: n.Version, BundlesFixed: n.BundlesFixed,
			Status: pb.NodeStatus_NODE_STATUS_UP, RegisteredUnixMs: now, StatusChangedUnixMs: now, ModifyIndex: index,
			Process: n.Process,
		}
		nn.Bundles, nn.BundleNames = sortedBundles(n.Bundles, n.BundleNames)
		old := s.nodes[n.Id]
		if old != nil {
			nn.Cordoned = old.Cordoned
			if old.Status == pb.NodeStatus_NODE_STATUS_UP {
				nn.StatusChangedUnixMs = old.StatusChangedUnixMs
			}
		}
		s.nodes[n.Id] = nn
		s.clearRefusals(n.Id, index)
		s.event(index, now, "node.registered", n.Id, fmt.Sprintf("node %s registered at %s (version %s)", n.Id, n.Address, n.Version))
		if old != nil && old.Status == pb.NodeStatus_NODE_STATUS_UP && old.Process != "" && n.Process != old.Process {
			s.promoteAfterRestart(index, now, n.Id)
		}
		if old != nil && n.NewDataDir && n.Process != old.Process {
			s.forgetCopies(index, now, n.Id)
		}

	case *pb.Command_SetNodeCordon:
		c := op.SetNodeCordon
		old := s.nodes[c.Id]
		if old == nil {
			return fail(codes.NotFound, "node %s not found", c.Id)
		}
		if old.Cordoned == c.Cordoned {
			return codes.OK, ""
		}
		n := proto.Clone(old).(*pb.Node)
		n.Cordoned, n.ModifyIndex = c.Cordoned, index
		s.nodes[c.Id] = n
		word := "uncordoned"
		if c.Cordoned {
			word = "cordoned"
		}
		s.event(index, now, "node."+word, c.Id, "node "+c.Id+" "+word)

	case *pb.Command_MarkNodeDown:
		c := op.MarkNodeDown
		old := s.nodes[c.Id]
		if old == nil {
			return fail(codes.NotFound, "node %s not found", c.Id)
		}
		if c.RegisteredUnixMs != 0 && old.RegisteredUnixMs != c.RegisteredUnixMs {
			return fail(codes.FailedPrecondition, "node %s registered again since its lease expired", c.Id)
		}
		if old.Status == pb.NodeStatus_NODE_STATUS_DOWN {
			return codes.OK, ""
		}
		n := proto.Clone(old).(*pb.Node)
		n.Status, n.StatusChangedUnixMs, n.ModifyIndex = pb.NodeStatus_NODE_STATUS_DOWN, now, index
		s.nodes[c.Id] = n
		s.event(index, now, "node.down", c.Id, fmt.Sprintf("node %s is down: %s", c.Id, c.Reason))

	case *pb.Command_CreateSurface:
		in := op.CreateSurface.GetSurface()
		if in == nil || !nameRE.MatchString(in.Name) {
			return fail(codes.InvalidArgument, "surface name %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", in.GetName())
		}
		if s.surfaces[in.Name] != nil {
			return fail(codes.AlreadyExists, "surface %s already exists", in.Name)
		}
		if in.Replicas > MaxReplicas {
			return fail(codes.InvalidArgument, "replicas %d: at most %d", in.Replicas, MaxReplicas)
		}
		if in.Pin != "" && s.nodes[in.Pin] == nil {
			return fail(codes.NotFound, "cannot pin surface %s: node %s not found", in.Name, in.Pin)
		}
		if in.StandbyMode != pb.StandbyMode_STANDBY_MODE_UNSPECIFIED && in.StandbyMode != pb.StandbyMode_STANDBY_MODE_HOT && in.StandbyMode != pb.StandbyMode_STANDBY_MODE_WARM {
			return fail(codes.InvalidArgument, "standby mode must be hot or warm")
		}
		var save *pb.SaveInfo
		if in.SaveSha256 != "" {
			if save = s.saveByRef(in.SaveSha256); save == nil {
				return fail(codes.NotFound, "surface %s: there is no save %s%s; upload it first (starlane save upload FILE)", in.Name, in.SaveSha256, shortPrefixHint(in.SaveSha256))
			}
		}
		sf := &pb.Surface{
			Name: in.Name, Planet: in.Planet, Seed: in.Seed, Map: in.Map, BundleHash: in.BundleHash,
			Replicas: in.Replicas, Pin: in.Pin, Assignment: &pb.Assignment{}, StandbyMode: in.StandbyMode,
			CreatedUnixMs: now, CreateIndex: index, ModifyIndex: index,
			AutosaveEveryTicks: in.AutosaveEveryTicks, AutosaveKeep: in.AutosaveKeep,
		}
		if save != nil {
			sf.SaveSha256, sf.Map = save.Sha256, save.Name
			sf.LastAutosaveTick = save.Tick // the first autosave comes an interval later
			if sf.Planet == "" {
				sf.Planet = save.Planet // the save's state says which planet it is
			}
			switch {
			case sf.BundleHash == "":
				sf.BundleHash = save.BundleHash
			case save.BundleHash != "" && save.BundleHash != sf.BundleHash:
				names := s.bundleNames()
				return fail(codes.InvalidArgument, "bundle mismatch: save %s was made with bundle %s, surface %s asks for bundle %s; leave out --bundle to use the save's",
					save.Name, bundleLabel(names[save.BundleHash], save.BundleHash), in.Name, bundleLabel(names[sf.BundleHash], sf.BundleHash))
			}
		}
		if n := s.nodes[sf.Pin]; n != nil && !s.nodeCanGet(n, sf.BundleHash) {
			return fail(codes.InvalidArgument, "cannot pin surface %s to node %s: %s", sf.Name, n.Id, bundleMismatch(sf.Name, sf.BundleHash, n.Id, n.Bundles, s.bundleNames()))
		}
		if sf.Planet == "" {
			sf.Planet = "nauvis"
		}
		if sf.Map == "" {
			sf.Map = "starter"
		}
		if sf.Replicas == 0 {
			sf.Replicas = 1
		}
		s.surfaces[sf.Name] = sf
		s.event(index, now, "surface.created", sf.Name, fmt.Sprintf("surface %s created (planet %s, map %s, seed %d, replicas %d)", sf.Name, sf.Planet, sf.Map, sf.Seed, sf.Replicas))

	case *pb.Command_DeleteSurface:
		name := op.DeleteSurface.Name
		if s.surfaces[name] == nil {
			return fail(codes.NotFound, "surface %s not found", name)
		}
		delete(s.surfaces, name)
		s.event(index, now, "surface.deleted", name, "surface "+name+" deleted")
		for _, sv := range s.autosavesOf(name) {
			if len(s.surfacesUsing(sv.Sha256)) == 0 {
				delete(s.saves, sv.Name)
				s.contentGen++
			}
		}
		for _, id := range sortedKeys(s.bridges) {
			if b := s.bridges[id]; b.FromSurface == name || b.ToSurface == name {
				delete(s.bridges, id)
				s.event(index, now, "bridge.deleted", id, "bridge "+id+" deleted with surface "+name)
			}
		}

	case *pb.Command_PinSurface:
		c := op.PinSurface
		old := s.surfaces[c.Name]
		if old == nil {
			return fail(codes.NotFound, "surface %s not found", c.Name)
		}
		if c.Node != "" && s.nodes[c.Node] == nil {
			return fail(codes.NotFound, "cannot pin surface %s: node %s not found", c.Name, c.Node)
		}
		sf := proto.Clone(old).(*pb.Surface)
		sf.Pin, sf.ModifyIndex = c.Node, index
		s.surfaces[c.Name] = sf
		if c.Node == "" {
			s.event(index, now, "surface.unpinned", c.Name, "surface "+c.Name+" unpinned")
		} else {
			s.event(index, now, "surface.pinned", c.Name, "surface "+c.Name+" pinned to node "+c.Node)
		}

	case *pb.Command_SetSurfaceReplicas:
		c := op.SetSurfaceReplicas
		old := s.surfaces[c.Name]
		if old == nil {
			return fail(codes.NotFound, "surface %s not found", c.Name)
		}
		if c.Replicas < 1 || c.Replicas > MaxReplicas {
			return fail(codes.InvalidArgument, "replicas %d: must be 1 to %d (the primary plus standbys)", c.Replicas, MaxReplicas)
		}
		sf := proto.Clone(old).(*pb.Surface)
		sf.Replicas, sf.ModifyIndex = c.Replicas, index
		s.surfaces[c.Name] = sf
		s.event(index, now, "surface.replicas", c.Name, fmt.Sprintf("surface %s wants %d replicas", c.Name, c.Replicas))

	case *pb.Command_ApplyPlan:
		applied := 0
		for _, ch := range op.ApplyPlan.Changes {
			if s.applyChange(index, now, ch) {
				applied++
			}
		}
		return codes.OK, fmt.Sprintf("applied %d of %d changes", applied, len(op.ApplyPlan.Changes))

	case *pb.Command_CreateBridge:
		b := op.CreateBridge.GetBridge()
		if b == nil || !nameRE.MatchString(b.Id) {
			return fail(codes.InvalidArgument, "bridge id %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", b.GetId())
		}
		if o := s.bridges[b.Id]; o != nil {
			if o.FromSurface != b.FromSurface || o.FromPort != b.FromPort || o.ToSurface != b.ToSurface || o.ToPort != b.ToPort {
				return fail(codes.AlreadyExists, "a bridge named %s already links %s:%s -> %s:%s; name this one with --name", b.Id, o.FromSurface, o.FromPort, o.ToSurface, o.ToPort)
			}
			return fail(codes.AlreadyExists, "bridge %s already exists", b.Id)
		}
		for _, sfc := range []string{b.FromSurface, b.ToSurface} {
			if s.surfaces[sfc] == nil {
				return fail(codes.NotFound, "bridge %s: surface %s not found", b.Id, sfc)
			}
		}
		if b.FromSurface == b.ToSurface {
			return fail(codes.InvalidArgument, "bridge %s links surface %s to itself", b.Id, b.FromSurface)
		}
		if b.FromPort == "" || b.ToPort == "" {
			return fail(codes.InvalidArgument, "bridge %s needs an export port and an import port", b.Id)
		}
		// A port carries one bridge: its sequence numbers and high-water mark are the
		// bridge's.
		for _, id := range sortedKeys(s.bridges) {
			o := s.bridges[id]
			if o.FromSurface == b.FromSurface && o.FromPort == b.FromPort {
				return fail(codes.AlreadyExists, "port %s:%s already sends bridge %s", b.FromSurface, b.FromPort, o.Id)
			}
			if o.ToSurface == b.ToSurface && o.ToPort == b.ToPort {
				return fail(codes.AlreadyExists, "port %s:%s already receives bridge %s", b.ToSurface, b.ToPort, o.Id)
			}
		}
		nb := proto.Clone(b).(*pb.Bridge)
		nb.CreateIndex = index
		nb.Status = nil
		s.bridges[b.Id] = nb
		s.event(index, now, "bridge.created", b.Id, fmt.Sprintf("bridge %s: %s/%s -> %s/%s", b.Id, b.FromSurface, b.FromPort, b.ToSurface, b.ToPort))

	case *pb.Command_DeleteBridge:
		id := op.DeleteBridge.Id
		if s.bridges[id] == nil {
			return fail(codes.NotFound, "bridge %s not found", id)
		}
		delete(s.bridges, id)
		s.event(index, now, "bridge.deleted", id, "bridge "+id+" deleted")

	case *pb.Command_RefuseAssignment:
		return s.applyRefusal(index, now, op.RefuseAssignment)

	case *pb.Command_UpdateReplicas:
		return s.applyUpdateReplicas(index, now, op.UpdateReplicas)
	case *pb.Command_PromoteStandby:
		return s.applyPromoteStandby(index, now, op.PromoteStandby)
	case *pb.Command_MoveSurface:
		return s.applyMoveSurface(index, now, op.MoveSurface)
	case *pb.Command_BeginHandoff:
		return s.applyBeginHandoff(index, now, op.BeginHandoff)
	case *pb.Command_CompleteHandoff:
		return s.applyCompleteHandoff(index, now, op.CompleteHandoff)
	case *pb.Command_AbortHandoff:
		return s.applyAbortHandoff(index, now, op.AbortHandoff)
	case *pb.Command_CancelMove:
		return s.applyCancelMove(index, now, op.CancelMove)
	case *pb.Command_StandbyDesync:
		return s.applyStandbyDesync(index, now, op.StandbyDesync)
	case *pb.Command_ShardFailed:
		return s.applyShardFailed(index, now, op.ShardFailed)
	case *pb.Command_SetSurfaceStandbyMode:
		return s.applySetStandbyMode(index, now, op.SetSurfaceStandbyMode)
	case *pb.Command_Access:
		return s.applyAccess(index, now, op.Access)
	case *pb.Command_PutSave:
		return s.applyPutSave(index, now, op.PutSave)
	case *pb.Command_DeleteSave:
		return s.applyDeleteSave(index, now, op.DeleteSave)
	case *pb.Command_PutBundle:
		return s.applyPutBundle(index, now, op.PutBundle)
	case *pb.Command_DeleteBundle:
		return s.applyDeleteBundle(index, now, op.DeleteBundle)
	case *pb.Command_StopSurface:
		return s.applyStopSurface(index, now, op.StopSurface)
	case *pb.Command_StartSurface:
		return s.applyStartSurface(index, now, op.StartSurface)
	case *pb.Command_SurfaceSaved:
		return s.applySurfaceSaved(index, now, op.SurfaceSaved)
	case *pb.Command_RollbackSurface:
		return s.applyRollback(index, now, op.RollbackSurface)
	case *pb.Command_SetSurfaceAutosave:
		return s.applySetAutosave(index, now, op.SetSurfaceAutosave)

	case *pb.Command_AuditDenied:
		// Only the audit entry: apply records the actor with this outcome.
		msg := op.AuditDenied.Message
		if n := op.AuditDenied.Suppressed; n > 0 {
			msg += fmt.Sprintf(" (and %d more refusals of this token since the last one recorded)", n)
		}
		return codes.PermissionDenied, msg

	default:
		return fail(codes.Unimplemented, "raft command at index %d is unknown to this controller version; upgrade it to the cluster's newest version", index)
	}
	return codes.OK, ""
}

// applyChange applies one plan change if the surface's epoch still matches and
// every named node exists and is up. It reports whether it changed anything.
func (s *state) applyChange(index uint64, now int64, ch *pb.PlanChange) bool {
	old := s.surfaces[ch.Surface]
	if old == nil || old.GetAssignment().GetEpoch() != ch.ExpectedEpoch || old.Stopped {
		return false
	}
	if a := ch.Assignment; a != nil {
		for _, id := range append([]string{a.Primary}, a.Standbys...) {
			if id == "" {
				continue
			}
			if n := s.nodes[id]; n == nil || n.Status != pb.NodeStatus_NODE_STATUS_UP {
				return false
			}
		}
		// The primary moves only to a standby holding every confirmed tick, or to a
		// surface without primary; anything else would start it from its map.
		if op := old.GetAssignment().GetPrimary(); op != "" && a.Primary != op && !slices.Contains(old.GetAssignment().GetSynced(), a.Primary) {
			return false
		}
	}
	sf := proto.Clone(old).(*pb.Surface)
	sf.ModifyIndex = index
	changed := false
	if a := ch.Assignment; a != nil {
		sf.Assignment = nextAssignment(old.GetAssignment(), a.Primary, a.Standbys, index)
		if sf.Assignment.Primary != old.GetAssignment().GetPrimary() || sf.Assignment.Primary == "" {
			sf.Migration = nil
		} else if m := sf.Migration; m != nil && slices.Contains(old.GetAssignment().GetStandbys(), m.Target) && !slices.Contains(a.Standbys, m.Target) {
			// The plan dropped the move's target (its disk filled before it caught up).
			sf.Migration = nil
			msg := fmt.Sprintf("surface %s: the move to %s was given up: the plan dropped its copy there", sf.Name, m.Target)
			if strings.Contains(ch.PlacementError, "the move to "+m.Target) {
				msg = fmt.Sprintf("surface %s: %s", sf.Name, ch.PlacementError)
			}
			s.event(index, now, "surface.move_failed", sf.Name, msg)
		}
		changed = true
		kind := "surface.placed"
		if a.Primary == "" {
			kind = "surface.unassigned"
		}
		s.event(index, now, kind, sf.Name, fmt.Sprintf("surface %s epoch %d: primary %q, standbys %v: %s", sf.Name, index, a.Primary, a.Standbys, ch.Reason))
	}
	if ch.PlacementError != old.PlacementError {
		sf.PlacementError = ch.PlacementError
		changed = true
		if ch.PlacementError != "" {
			s.event(index, now, "surface.unplaced", sf.Name, fmt.Sprintf("surface %s: %s", sf.Name, ch.PlacementError))
		} else {
			s.event(index, now, "surface.placement_ok", sf.Name, "surface "+sf.Name+" is placed as asked")
		}
	}
	if changed {
		s.surfaces[sf.Name] = sf
	}
	return changed
}

func orEmpty(c *pb.NodeCapacity) *pb.NodeCapacity {
	if c == nil {
		return &pb.NodeCapacity{}
	}
	return c
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toProto returns the canonical, ordered encoding of the state.
func (s *state) toProto() *pb.ClusterState {
	out := &pb.ClusterState{
		FormatVersion: stateFormat, Index: s.index, Events: slices.Clone(s.events),
		NextEventSeq: s.nextEventSeq, JoinToken: s.joinToken, LastUnixMs: s.lastUnixMS, Access: s.access.toProto(),
	}
	for _, k := range sortedKeys(s.controllers) {
		out.Controllers = append(out.Controllers, s.controllers[k])
	}
	for _, k := range sortedKeys(s.nodes) {
		out.Nodes = append(out.Nodes, s.nodes[k])
	}
	for _, k := range sortedKeys(s.surfaces) {
		out.Surfaces = append(out.Surfaces, s.surfaces[k])
	}
	for _, k := range sortedKeys(s.bridges) {
		out.Bridges = append(out.Bridges, s.bridges[k])
	}
	for _, id := range s.dedupOrder[s.dedupHead:] {
		out.Dedup = append(out.Dedup, s.dedup[id])
	}
	for _, n := range sortedKeys(s.saves) {
		out.Saves = append(out.Saves, s.saves[n])
	}
	for _, n := range sortedKeys(s.bundles) {
		out.Bundles = append(out.Bundles, s.bundles[n])
	}
	if s.droppedUpTo > 0 {
		// The first kept event tells a restored FSM what was dropped; keep it
		// explicit so an empty event list after a drop is not mistaken for "all".
		out.Events = append([]*pb.Event{{Index: s.droppedUpTo, Kind: "events.truncated"}}, out.Events...)
	}
	return out
}

func stateFromProto(p *pb.ClusterState) (*state, error) {
	if p.FormatVersion > stateFormat {
		return nil, fmt.Errorf("controller state format %d is newer than this controller understands (%d); upgrade the controller", p.FormatVersion, stateFormat)
	}
	s := newState()
	s.index, s.nextEventSeq, s.joinToken, s.lastUnixMS = p.Index, p.NextEventSeq, p.JoinToken, p.LastUnixMs
	for _, c := range p.Controllers {
		s.controllers[c.Id] = c
	}
	for _, n := range p.Nodes {
		s.nodes[n.Id] = n
	}
	for _, sf := range p.Surfaces {
		s.surfaces[sf.Name] = sf
	}
	for _, b := range p.Bridges {
		s.bridges[b.Id] = b
	}
	for _, e := range p.Events {
		if e.Kind == "events.truncated" && e.Seq == 0 {
			s.droppedUpTo = e.Index
			continue
		}
		s.events = append(s.events, e)
	}
	for _, d := range p.Dedup {
		s.dedup[d.RequestId] = d
		s.dedupOrder = append(s.dedupOrder, d.RequestId)
	}
	for _, sv := range p.Saves {
		s.saves[sv.Name] = sv
	}
	for _, b := range p.Bundles {
		s.bundles[b.Name] = b
	}
	s.access = accessFromProto(p.Access)
	return s, nil
}

// clone copies the maps (records are immutable), for snapshots and readers.
func (s *state) clone() *state {
	c := *s
	c.controllers = maps.Clone(s.controllers)
	c.nodes = maps.Clone(s.nodes)
	c.surfaces = maps.Clone(s.surfaces)
	c.bridges = maps.Clone(s.bridges)
	c.events = slices.Clone(s.events)
	c.dedup = maps.Clone(s.dedup)
	c.saves = maps.Clone(s.saves)
	c.bundles = maps.Clone(s.bundles)
	c.access = s.access.clone()
	c.dedupOrder = slices.Clone(s.dedupOrder[s.dedupHead:])
	c.dedupHead = 0
	return &c
}

// Snapshot captures the state; it copies map headers only, the encoding happens in
// Persist, off the apply path.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &fsmSnapshot{st: f.st.clone()}, nil
}

// Restore replaces the state with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read controller snapshot: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	before := f.st.marks()
	f.st = st
	wake := f.swapNotifyLocked(before, true)
	f.mu.Unlock()
	wake()
	return nil
}

func decodeState(data []byte) (*state, error) {
	var p pb.ClusterState
	if err := proto.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode controller snapshot: %w", err)
	}
	if p.FormatVersion == 0 {
		return nil, fmt.Errorf("decode controller snapshot: not a controller state (no format version)")
	}
	return stateFromProto(&p)
}

func encodeState(s *state) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(s.toProto())
}

type fsmSnapshot struct{ st *state }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := encodeState(s.st)
	if err == nil {
		_, err = sink.Write(data)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("persist controller snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// read runs fn with the current state under the read lock. fn must not keep or
// modify what it reads beyond the call (records may be shared).
func (f *FSM) read(fn func(s *state)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.st)
}

// Changed returns a channel closed at the next applied batch or restore.
func (f *FSM) Changed() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

// TokenChanged returns a channel closed when the join token next changes.
func (f *FSM) TokenChanged() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.tokenChanged
}

// ContentChanged returns a channel closed when a save or bundle is next
// recorded or removed (or a snapshot is restored).
func (f *FSM) ContentChanged() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.contentChanged
}

// ChatChanged returns a channel closed when the next chat message is applied
// (or a snapshot is restored).
func (f *FSM) ChatChanged() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.chatChanged
}

// Index returns the last applied log index.
func (f *FSM) Index() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.index
}

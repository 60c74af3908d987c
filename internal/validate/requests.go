package validate

import (
	"context"
	"strings"

	"google.golang.org/grpc"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Catalog is what a cluster knows by name: the planets its maps can be
// generated for and its built-in maps. The controller is given it at start (it
// comes from the simulation, which the controller does not import).
type Catalog struct {
	Planets []string
	Maps    []string
	// SaveVersion is the newest save format the cluster's nodes load (0: any).
	SaveVersion uint32
	// Bundles are the prototype bundles saves may be made with (empty: any).
	Bundles []string
}

// Checker checks requests against a catalog.
type Checker struct {
	Catalog Catalog
}

// Unary is a server interceptor that refuses an invalid request before its
// handler (and so before forwarding, Raft or a shard) sees it.
func (c Checker) Unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := c.Request(req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// Request checks one request message of the public API. Messages without
// fields to check pass.
func (c Checker) Request(req any) error {
	switch r := req.(type) {
	// ClusterService.
	case *pb.JoinControllerRequest:
		// Raft addresses are the transport's (host:port over TCP, opaque in tests).
		return first(RequestID(r.RequestId), Name("id", r.Id),
			Printable("raft_address", r.RaftAddress, MaxAddressBytes, true), Address("api_address", r.ApiAddress, true))
	case *pb.RemoveControllerRequest:
		return first(RequestID(r.RequestId), Name("id", r.Id))
	case *pb.TransferLeadershipRequest:
		return OptName("to_id", r.ToId)
	case *pb.GetNodeRequest:
		return Name("id", r.Id)
	case *pb.CordonNodeRequest:
		return first(RequestID(r.RequestId), Name("id", r.Id))
	case *pb.CreateSurfaceRequest:
		return c.createSurface(r)
	case *pb.GetSurfaceRequest:
		return Name("name", r.Name)
	case *pb.DeleteSurfaceRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name))
	case *pb.PinSurfaceRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name), OptName("node", r.Node))
	case *pb.SetSurfaceReplicasRequest:
		err := first(RequestID(r.RequestId), Name("name", r.Name))
		if err == nil && (r.Replicas < 1 || r.Replicas > MaxReplicas) {
			err = Invalid("replicas", "%d is out of range: a surface has 1 (no standby) to %d copies", r.Replicas, MaxReplicas)
		}
		return err
	case *pb.SetSurfaceStandbyModeRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name), standbyMode("mode", r.Mode))
	case *pb.StopSurfaceRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name))
	case *pb.StartSurfaceRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name))
	case *pb.RollbackSurfaceRequest:
		err := first(RequestID(r.RequestId), Name("name", r.Name))
		if err == nil && (r.Save == "") == (r.Tick == 0) {
			err = Invalid("save", "give either a save (name or sha256) or a tick to roll back to")
		}
		if err == nil && r.Save != "" {
			err = SaveRef("save", r.Save, true)
		}
		return err
	case *pb.SetSurfaceAutosaveRequest:
		err := first(RequestID(r.RequestId), Name("name", r.Name))
		if err == nil && r.Keep > MaxAutosaveKeep {
			err = Invalid("keep", "%d is out of range: a surface keeps 1 to %d autosaves (0 picks the default)", r.Keep, MaxAutosaveKeep)
		}
		if err == nil && r.EveryTicks > MaxAutosaveTicks {
			err = Invalid("every_ticks", "%d is too long: autosave at least every %d ticks (10,000 hours of game time)", r.EveryTicks, MaxAutosaveTicks)
		}
		if err == nil && r.EveryTicks != 0 && r.EveryTicks < MinAutosaveTicks {
			err = Invalid("every_ticks", "%d is too short: autosave at most every %d ticks (1 s of game time)", r.EveryTicks, MinAutosaveTicks)
		}
		return err
	case *pb.AutosaveRecordRequest:
		return first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface), saveInfo(r.Save))
	case *pb.AutosaveUploadStart:
		err := first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface), Hash("sha256", r.Sha256, true),
			Label("planet", r.Planet, false), Printable("state_hash", r.StateHash, 32, false))
		if err == nil && (r.Size == 0 || r.Size > MaxSaveBytes) {
			err = Invalid("size", "%d is out of range: a save is 1 to %d bytes", r.Size, MaxSaveBytes)
		}
		return err
	case *pb.MoveSurfaceRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name), OptName("to", r.To))
	case *pb.CreateBridgeRequest:
		return first(RequestID(r.RequestId), bridge(r.Bridge))
	case *pb.GetBridgeRequest:
		return Name("id", r.Id)
	case *pb.DeleteBridgeRequest:
		return first(RequestID(r.RequestId), Name("id", r.Id))
	case *pb.ListSurfacesRequest:
		return page(r.PageSize, r.PageToken)
	case *pb.ListNodesRequest:
		return page(r.PageSize, r.PageToken)
	case *pb.ListBridgesRequest:
		return page(r.PageSize, r.PageToken)

	// NodeService.
	case *pb.RegisterRequest:
		return first(RequestID(r.RequestId), Text("join_token", r.JoinToken, MaxTokenBytes), node(r.Node))
	case *pb.HeartbeatRequest:
		return heartbeat(r)
	case *pb.WatchAssignmentsRequest:
		return Name("node_id", r.NodeId)
	case *pb.RefuseAssignmentRequest:
		return first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface), Text("reason", r.Reason, MaxTextBytes))
	case *pb.UpdateReplicasRequest:
		err := first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface),
			Count("synced", len(r.Synced), MaxReplicas), Count("drop", len(r.Drop), MaxReplicas))
		for _, s := range r.Synced {
			err = first(err, Name("synced", s))
		}
		for _, d := range r.Drop {
			err = first(err, Name("drop.node", d.GetNode()), Text("drop.reason", d.GetReason(), MaxTextBytes))
		}
		return err
	case *pb.ReportPrimaryLostRequest:
		return first(Name("node_id", r.NodeId), Name("surface", r.Surface), Text("reason", r.Reason, MaxTextBytes))
	case *pb.CompleteHandoffRequest:
		return first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface))
	case *pb.AbortHandoffRequest:
		return first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface), Text("reason", r.Reason, MaxTextBytes))
	case *pb.ReportStandbyDesyncRequest:
		return first(RequestID(r.RequestId), Name("node_id", r.NodeId), Name("surface", r.Surface),
			Name("standby", r.Standby), Text("report_path", r.ReportPath, MaxTextBytes))
	case *pb.FetchBlobRequest:
		return Hash("sha256", r.Sha256, true)

	// AccessService.
	case *pb.CreateTokenRequest:
		err := first(RequestID(r.RequestId), Label("name", r.Name, false), OneOf("role", r.Role, []string{"read", "operate", "admin"}, false, "token role"))
		if err == nil && (r.TtlSeconds < 0 || r.TtlSeconds > MaxTokenTTLSeconds) {
			err = Invalid("ttl_seconds", "%d is out of range: 0 (no expiry) to %d", r.TtlSeconds, MaxTokenTTLSeconds)
		}
		return err
	case *pb.RevokeTokenRequest:
		return first(RequestID(r.RequestId), Label("id", r.Id, true))
	case *pb.ListPlayersRequest:
		return page(r.PageSize, r.PageToken)
	case *pb.ListAuditRequest:
		return nil
	case *pb.CreatePlayerRequest:
		return first(RequestID(r.RequestId), PlayerName("name", r.Name))
	case *pb.SetPlayerRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name), Line("ban_reason", r.BanReason, MaxTextBytes))
	case *pb.SetAccessSettingsRequest:
		if r.Settings == nil {
			return Invalid("settings", "is required")
		}
		return RequestID(r.RequestId)
	case *pb.PostChatRequest:
		err := first(RequestID(r.RequestId), Label("player", r.Player, true), OptName("surface", r.Surface), Line("text", r.Text, MaxChatBytes))
		if err == nil && r.Text == "" {
			err = Invalid("text", "is empty")
		}
		if err == nil && !r.Global && r.Surface == "" {
			err = Invalid("surface", "is required for a message that is not global")
		}
		return err
	case *pb.WatchChatRequest:
		return nil
	case *pb.IssueTicketRequest:
		return first(RequestID(r.RequestId), PlayerName("player", r.Player), Printable("player_key", r.PlayerKey, MaxTokenBytes, false), OptName("surface", r.Surface))
	// SaveService and BlobService.
	case *pb.GetSaveRequest:
		return SaveRef("name", r.Name, true)
	case *pb.DeleteSaveRequest:
		return first(RequestID(r.RequestId), Name("name", r.Name))
	case *pb.PutSaveRequest:
		return first(RequestID(r.RequestId), saveInfo(r.Save))
	// BundleService.
	case *pb.GetBundleRequest:
		return BundleRef("name", r.Name, true)
	case *pb.DeleteBundleRequest:
		return first(RequestID(r.RequestId), BundleRef("name", r.Name, true))
	case *pb.PutBundleRequest:
		b := r.Bundle
		if b == nil {
			return Invalid("bundle", "is required")
		}
		err := first(RequestID(r.RequestId), Name("bundle.name", b.Name), Hash("bundle.hash", b.Hash, true),
			Line("bundle.bundle_name", b.BundleName, MaxNameBytes*2), Line("bundle.version", b.Version, 128))
		if err == nil && (b.Size == 0 || b.Size > MaxBundleBytes) {
			err = Invalid("bundle.size", "%d is out of range: a bundle is 1 to %d bytes", b.Size, MaxBundleBytes)
		}
		return err
	case *pb.UploadBundleStart:
		err := first(RequestID(r.RequestId), OptName("name", r.Name), Hash("sha256", r.Sha256, true))
		if err == nil && (r.Size == 0 || r.Size > MaxBundleBytes) {
			err = Invalid("size", "%d is out of range: a bundle file is 1 to %d bytes", r.Size, MaxBundleBytes)
		}
		return err
	case *pb.WantBlobRequest:
		return first(Hash("sha256", r.Sha256, true), Address("from", r.From, true))
	case *pb.UploadSaveStart:
		err := first(RequestID(r.RequestId), Name("name", r.Name), Hash("sha256", r.Sha256, true),
			OptName("surface", r.Surface), Label("planet", r.Planet, false))
		if err == nil && (r.Size == 0 || r.Size > MaxSaveBytes) {
			err = Invalid("size", "%d is out of range: a save is 1 to %d bytes", r.Size, MaxSaveBytes)
		}
		return err

	// Node API.
	case *pb.Hello:
		return first(Name("surface", r.Surface), Label("player_name", r.PlayerName, true),
			Hash("bundle_hash", r.BundleHash, false), Line("bundle_name", r.BundleName, 128), Line("client_version", r.ClientVersion, 64),
			Printable("ticket", r.Ticket, MaxTicketBytes, false))
	case *pb.GetShardRequest:
		err := first(Name("surface", r.Surface), Count("ports", len(r.Ports), 4))
		for _, q := range r.Ports {
			err = first(err, Port("ports.name", q.GetName(), true))
		}
		return err
	case *pb.GetStateRequest:
		return Name("surface", r.Surface)
	}
	return nil
}

func (c Checker) createSurface(r *pb.CreateSurfaceRequest) error {
	err := first(RequestID(r.RequestId), Name("name", r.Name),
		OneOf("planet", r.Planet, c.Catalog.Planets, true, "planet"),
		Hash("bundle_hash", r.BundleHash, false), BundleRef("bundle", r.Bundle, false), OptName("pin", r.Pin), standbyMode("standby_mode", r.StandbyMode),
		Label("save_name", r.SaveName, false))
	if err != nil {
		return err
	}
	if r.Replicas > MaxReplicas {
		return Invalid("replicas", "%d is out of range: a surface has 1 (no standby) to %d copies (0 picks the default)", r.Replicas, MaxReplicas)
	}
	if r.AutosaveKeep > MaxAutosaveKeep {
		return Invalid("autosave_keep", "%d is out of range: a surface keeps 1 to %d autosaves (0 picks the default)", r.AutosaveKeep, MaxAutosaveKeep)
	}
	if r.AutosaveEveryTicks > MaxAutosaveTicks {
		return Invalid("autosave_every_ticks", "%d is too long: autosave at least every %d ticks (10,000 hours of game time)", r.AutosaveEveryTicks, MaxAutosaveTicks)
	}
	if r.AutosaveEveryTicks != 0 && r.AutosaveEveryTicks < MinAutosaveTicks {
		return Invalid("autosave_every_ticks", "%d is too short: autosave at most every %d ticks (1 s of game time)", r.AutosaveEveryTicks, MinAutosaveTicks)
	}
	if r.FromSave != "" {
		if r.Map != "" || len(r.Save) > 0 {
			return Invalid("from_save", "give one of a built-in map, a save's content or an uploaded save")
		}
		return SaveRef("from_save", r.FromSave, true)
	}
	if len(r.Save) > 0 {
		if r.Map != "" {
			return Invalid("map", "give either a built-in map or a save's content, not both")
		}
		if len(r.Save) > MaxSaveBytes {
			return Invalid("save", "is %d bytes, at most %d are allowed", len(r.Save), MaxSaveBytes)
		}
		return nil
	}
	// A map is a built-in map's name, never a path: nodes open no file a
	// request names (a save is sent as content instead).
	if err := OneOf("map", r.Map, c.Catalog.Maps, true, "built-in map"); err != nil {
		return Invalid("map", "%s is not a built-in map (%s); to start from a save file, send its content (starlane surface create --map FILE reads the file and does)",
			Quote(r.Map), joinOr(c.Catalog.Maps))
	}
	return nil
}

func saveInfo(s *pb.SaveInfo) error {
	if s == nil {
		return Invalid("save", "is required")
	}
	err := first(Name("save.name", s.Name), Hash("save.sha256", s.Sha256, true), Hash("save.bundle_hash", s.BundleHash, false),
		OptName("save.surface", s.Surface), Label("save.planet", s.Planet, false))
	if err == nil && (s.Size == 0 || s.Size > MaxSaveBytes) {
		err = Invalid("save.size", "%d is out of range: a save is 1 to %d bytes", s.Size, MaxSaveBytes)
	}
	return err
}

func joinOr(names []string) string {
	if len(names) == 0 {
		return "none known"
	}
	out := names[0]
	for _, n := range names[1:] {
		out += ", " + n
	}
	return out
}

func standbyMode(field string, m pb.StandbyMode) error {
	if _, ok := pb.StandbyMode_name[int32(m)]; !ok {
		return Invalid(field, "unknown standby mode %d", m)
	}
	return nil
}

func bridge(b *pb.Bridge) error {
	if b == nil {
		return Invalid("bridge", "is required")
	}
	err := first(Name("bridge.id", b.Id), Name("bridge.from_surface", b.FromSurface), Port("bridge.from_port", b.FromPort, false),
		Name("bridge.to_surface", b.ToSurface), Port("bridge.to_port", b.ToPort, false), Count("bridge.items", len(b.Items), MaxBridgeItems))
	seen := map[string]bool{}
	for _, it := range b.Items {
		err = first(err, Label("bridge.items", it, true))
		switch {
		case err != nil:
		case strings.ContainsAny(it, " \t"):
			err = Invalid("bridge.items", "%s: an item name has no spaces (the game's names, such as iron-plate)", Quote(it))
		case seen[it]:
			err = Invalid("bridge.items", "%s is listed twice", Quote(it))
		}
		seen[it] = true
	}
	if err == nil && b.Status != nil {
		err = Invalid("bridge.status", "is reported by the nodes, not set by a request")
	}
	return err
}

func node(n *pb.Node) error {
	if n == nil {
		return Invalid("node", "is required")
	}
	err := first(Name("node.id", n.Id), Address("node.address", n.Address, false), Line("node.version", n.Version, 64),
		NodeLabels("node.labels", n.Labels), Count("node.bundles", len(n.Bundles), MaxBundles),
		Count("node.shards", len(n.Shards), MaxShardsPerNode))
	for _, h := range n.Bundles {
		err = first(err, Hash("node.bundles", h, true))
	}
	return err
}

func heartbeat(r *pb.HeartbeatRequest) error {
	err := first(Name("node_id", r.NodeId), Count("shards", len(r.Shards), MaxShardsPerNode), Count("bridges", len(r.Bridges), 2*MaxShardsPerNode))
	for _, s := range r.Shards {
		if err != nil {
			return err
		}
		err = first(Name("shards.surface", s.Surface), Text("shards.error", s.Error, MaxTextBytes),
			Text("shards.state_hash", s.StateHash, 64), Count("shards.replicas", len(s.Replicas), MaxReplicas))
	}
	for _, b := range r.Bridges {
		if err != nil {
			return err
		}
		err = first(Name("bridges.bridge", b.Bridge), Name("bridges.surface", b.Surface), Label("bridges.side", b.Side, false),
			Text("bridges.error", b.Error, MaxTextBytes), Count("bridges.items", len(b.Items), MaxBridgeItems))
	}
	return err
}

func page(size uint32, token string) error {
	if size > MaxPageSize {
		return Invalid("page_size", "%d is over the limit of %d", size, MaxPageSize)
	}
	// A token is a list's name and a record's name (controller/api_page.go).
	return Printable("page_token", token, MaxNameBytes+32, false)
}

func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

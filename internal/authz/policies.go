package authz

import "github.com/starlane/starlane/internal/tlsconf"

const (
	cluster     = "/starlane.v1.ClusterService/"
	accessSvc   = "/starlane.v1.AccessService/"
	nodeSvc     = "/starlane.v1.NodeService/"
	statsSvc    = "/starlane.v1.StatsService/"
	shardSvc    = "/starlane.v1.ShardService/"
	bridgeSvc   = "/starlane.v1.BridgeService/"
	replication = "/starlane.v1.ReplicationService/"
	saveSvc     = "/starlane.v1.SaveService/"
	blobSvc     = "/starlane.v1.BlobService/"
	bundleSvc   = "/starlane.v1.BundleService/"
	health      = "/grpc.health.v1.Health/"
	reflectV1   = "/grpc.reflection.v1.ServerReflection/"
	reflectV1a  = "/grpc.reflection.v1alpha.ServerReflection/"
)

var (
	controller = tlsconf.RoleController
	node       = tlsconf.RoleNode
	operator   = tlsconf.RoleOperator
	player     = tlsconf.RolePlayer
	anyRole    = tlsconf.Roles
)

// Controller is who may call a controller's gRPC API. Operators own the
// ClusterService; controllers call it too, for joins and for the writes a
// follower forwards to the leader (the follower checked the caller first).
// Nodes speak the node protocol and may ask where a surface runs (to redirect a
// player), nothing else: a node certificate never reads the join token or
// deletes a surface.
var Controller = Policy{
	cluster:                    {operator, controller},
	cluster + "JoinController": {controller},
	cluster + "GetSurface":     {operator, controller, node},
	cluster + "GetNode":        {operator, controller, node},
	nodeSvc:                    {node, controller},
	// Access: operators; players ask for their tickets; a node relays an RCON
	// /ban (its operator token, not its certificate, grants the right).
	accessSvc:                 {operator, controller},
	accessSvc + "IssueTicket": {operator, controller, player},
	accessSvc + "SetPlayer":   {operator, controller, node},
	accessSvc + "PostChat":    {operator, controller, node},
	accessSvc + "WatchChat":   {operator, controller, node},
	saveSvc:                   {operator, controller},
	saveSvc + "PutSave":       {controller},
	bundleSvc:                 {operator, controller},
	bundleSvc + "PutBundle":   {controller},
	blobSvc + "FetchBlob":     {controller, node, operator},
	blobSvc + "WantBlob":      {controller},
	statsSvc:                  {operator, controller},
	health:                    anyRole,
	reflectV1:                 {operator, controller},
	reflectV1a:                {operator, controller},
}

// Node is who may call a node's gRPC API: other nodes stream bridges and
// replication; players and operators play; operators download a running
// surface's state, and so do controllers, whose web dashboards draw its map.
var Node = Policy{
	shardSvc:              {player, operator},
	shardSvc + "GetState": {operator, controller},
	bridgeSvc:             {node},
	replication:           {node},
	health:                anyRole,
}

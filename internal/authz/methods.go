package authz

// OperatorMethods is the one table of the operator role each ClusterService,
// AccessService, SaveService, BundleService and StatsService method needs (docs/api-limits.md shows it). A method missing
// here is refused to everyone, so a new RPC is closed until someone decides.
var OperatorMethods = map[string]OpRole{
	// Reads.
	cluster + "GetStatus":           OpRead,
	cluster + "ListControllers":     OpRead,
	cluster + "ListNodes":           OpRead,
	cluster + "GetNode":             OpRead,
	cluster + "ListSurfaces":        OpRead,
	cluster + "GetSurface":          OpRead,
	cluster + "ListBridges":         OpRead,
	cluster + "GetBridge":           OpRead,
	cluster + "Watch":               OpRead,
	accessSvc + "ListAudit":         OpRead,
	accessSvc + "ListPlayers":       OpRead,
	accessSvc + "GetAccessSettings": OpRead,
	accessSvc + "WatchChat":         OpRead,
	saveSvc + "ListSaves":           OpRead,
	saveSvc + "GetSave":             OpRead,
	bundleSvc + "ListBundles":       OpRead,
	bundleSvc + "GetBundle":         OpRead,
	statsSvc + "WatchStats":         OpRead,

	// Operating the factory: create, move, drain, bridges, players.
	cluster + "CordonNode":            OpOperate,
	cluster + "CreateSurface":         OpOperate,
	cluster + "PinSurface":            OpOperate,
	cluster + "SetSurfaceReplicas":    OpOperate,
	cluster + "SetSurfaceStandbyMode": OpOperate,
	cluster + "MoveSurface":           OpOperate,
	cluster + "StopSurface":           OpOperate,
	cluster + "StartSurface":          OpOperate,
	cluster + "SetSurfaceAutosave":    OpOperate,
	cluster + "CreateBridge":          OpOperate,
	cluster + "TransferLeadership":    OpOperate,
	accessSvc + "CreatePlayer":        OpOperate,
	accessSvc + "SetPlayer":           OpOperate,
	accessSvc + "PostChat":            OpOperate,
	saveSvc + "UploadSave":            OpOperate,
	saveSvc + "PutSave":               OpOperate, // the uploader's, forwarded by the controller it uploaded to
	bundleSvc + "UploadBundle":        OpOperate,
	bundleSvc + "PutBundle":           OpOperate, // as PutSave

	// Administration: tokens, the join token, snapshots, membership, deletes.
	cluster + "GetJoinToken":        OpAdmin,
	cluster + "RemoveController":    OpAdmin,
	cluster + "DeleteSurface":       OpAdmin,
	cluster + "RollbackSurface":     OpAdmin,
	cluster + "DeleteBridge":        OpAdmin,
	cluster + "SaveSnapshot":        OpAdmin,
	cluster + "RestoreSnapshot":     OpAdmin,
	accessSvc + "CreateToken":       OpAdmin,
	accessSvc + "ListTokens":        OpAdmin,
	accessSvc + "RevokeToken":       OpAdmin,
	accessSvc + "SetAccessSettings": OpAdmin,
	saveSvc + "DeleteSave":          OpAdmin,
	bundleSvc + "DeleteBundle":      OpAdmin,

	// No token: a joining controller holds a controller certificate (TLS) and
	// no token; a player proves itself with its player key.
	cluster + "JoinController": OpNone,
	accessSvc + "IssueTicket":  OpNone,
}

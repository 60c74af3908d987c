// Package starlanev1 holds the Starlane public gRPC API (ClusterService,
// NodeService, ShardService) and the controller's Raft command format, generated from the
// .proto files beside it by `make proto`.
package starlanev1

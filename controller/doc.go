// Package controller is the Raft-replicated Starlane controller: it keeps the
// cluster catalog (controllers, nodes, surfaces, assignments with epochs, bridges,
// events) in a hashicorp/raft FSM, serves ClusterService and NodeService over gRPC
// on every member (followers forward to the leader), keeps node leases in the
// leader's memory, and commits the scheduler's placement plans. See DESIGN.md.
package controller

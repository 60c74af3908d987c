package ctlclient

import (
	"context"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The controllers return lists in pages (so no list exceeds a message limit);
// these read every page. Index is the first page's; later pages may come from
// later states, as with any paged read.

// allPages calls fetch with each next-page token until the last page.
func allPages[T any](fetch func(token string) ([]T, uint64, string, error)) ([]T, uint64, error) {
	var all []T
	var index uint64
	token := ""
	for first := true; ; first = false {
		items, idx, next, err := fetch(token)
		if err != nil {
			return nil, 0, err
		}
		if first {
			index = idx
		}
		all = append(all, items...)
		if token = next; token == "" {
			return all, index, nil
		}
	}
}

// ListSurfaces reads every page of ClusterService.ListSurfaces.
func ListSurfaces(ctx context.Context, c pb.ClusterServiceClient) (*pb.ListSurfacesResponse, error) {
	items, index, err := allPages(func(token string) ([]*pb.Surface, uint64, string, error) {
		r, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{PageToken: token})
		return r.GetSurfaces(), r.GetIndex(), r.GetNextPageToken(), err
	})
	return &pb.ListSurfacesResponse{Surfaces: items, Index: index}, err
}

// ListNodes reads every page of ClusterService.ListNodes.
func ListNodes(ctx context.Context, c pb.ClusterServiceClient) (*pb.ListNodesResponse, error) {
	items, index, err := allPages(func(token string) ([]*pb.Node, uint64, string, error) {
		r, err := c.ListNodes(ctx, &pb.ListNodesRequest{PageToken: token})
		return r.GetNodes(), r.GetIndex(), r.GetNextPageToken(), err
	})
	return &pb.ListNodesResponse{Nodes: items, Index: index}, err
}

// ListBridges reads every page of ClusterService.ListBridges.
func ListBridges(ctx context.Context, c pb.ClusterServiceClient) (*pb.ListBridgesResponse, error) {
	items, index, err := allPages(func(token string) ([]*pb.Bridge, uint64, string, error) {
		r, err := c.ListBridges(ctx, &pb.ListBridgesRequest{PageToken: token})
		return r.GetBridges(), r.GetIndex(), r.GetNextPageToken(), err
	})
	return &pb.ListBridgesResponse{Bridges: items, Index: index}, err
}

// ListPlayers reads every page of AccessService.ListPlayers.
func ListPlayers(ctx context.Context, c pb.AccessServiceClient) (*pb.ListPlayersResponse, error) {
	items, index, err := allPages(func(token string) ([]*pb.Player, uint64, string, error) {
		r, err := c.ListPlayers(ctx, &pb.ListPlayersRequest{PageToken: token})
		return r.GetPlayers(), r.GetIndex(), r.GetNextPageToken(), err
	})
	return &pb.ListPlayersResponse{Players: items, Index: index}, err
}

package sim

import "fmt"

// Read-only helpers for lockstep clients and the shard runtime: clients check an
// action against their local copy before sending it, and desync reports describe
// entities. None of them changes the surface.

// DescribeEntity names an entity and where it stands ("stone-furnace #12 at 3,-4").
func (s *Surface) DescribeEntity(id uint32) string {
	info, ok := s.Entity(EntityID(id))
	if !ok {
		return fmt.Sprintf("entity #%d (not on this surface)", id)
	}
	return fmt.Sprintf("%s #%d at %d,%d", info.Name, id, info.X, info.Y)
}

// CheckBuild reports whether player could build sp now: the prototype exists, the
// area is free, it is within reach and the player carries one. Player 0 (the shard)
// needs neither reach nor items.
func (s *Surface) CheckBuild(player uint32, sp BuildSpec) error {
	pi, err := s.checkBuild(&sp)
	if err != nil {
		return err
	}
	if player == 0 {
		return nil
	}
	p := s.findPlayer(player)
	if p == nil {
		return fmt.Errorf("player %d has not joined", player)
	}
	proto := &s.b.Entities[pi]
	w, h := footprint(proto, sp.Dir)
	if err := s.inReach(p, Vec{sp.X*TileUnits + w*TileUnits/2, sp.Y*TileUnits + h*TileUnits/2}); err != nil {
		return err
	}
	if item := s.b.placer[pi]; item == 0 || slotsCount(p.inv, item) == 0 {
		return fmt.Errorf("cannot build %s: none in the inventory", sp.Name)
	}
	return nil
}

// InReach reports whether player's character can reach the centre of tile x, y.
func (s *Surface) InReach(player uint32, x, y int32) bool {
	p := s.findPlayer(player)
	return p != nil && s.inReach(p, Vec{x*TileUnits + TileUnits/2, y*TileUnits + TileUnits/2}) == nil
}

package sim

// Stack is a number of one item.
type Stack struct {
	Item  ItemID
	Count int32
}

// slotsInsert adds up to n items to a slot inventory, filling partial stacks first, and
// returns how many fit.
func (s *Surface) slotsInsert(slots []Stack, item ItemID, n int32) int32 {
	if n <= 0 {
		return 0
	}
	stack := s.b.Items[item-1].StackSize
	left := n
	for i := range slots {
		if slots[i].Item == item && slots[i].Count < stack {
			add := min(stack-slots[i].Count, left)
			slots[i].Count += add
			left -= add
			if left == 0 {
				return n
			}
		}
	}
	for i := range slots {
		if slots[i].Count == 0 {
			add := min(stack, left)
			slots[i] = Stack{item, add}
			left -= add
			if left == 0 {
				return n
			}
		}
	}
	return n - left
}

// slotsRoom returns how many of an item a slot inventory can still take.
func (s *Surface) slotsRoom(slots []Stack, item ItemID) int32 {
	stack := s.b.Items[item-1].StackSize
	var room int32
	for i := range slots {
		switch {
		case slots[i].Count == 0:
			room += stack
		case slots[i].Item == item:
			room += stack - slots[i].Count
		}
	}
	return room
}

// slotsCount returns how many of an item a slot inventory holds.
func slotsCount(slots []Stack, item ItemID) int32 {
	var n int32
	for i := range slots {
		if slots[i].Item == item {
			n += slots[i].Count
		}
	}
	return n
}

// slotsRemove takes up to n items from the last slots first and returns how many it took.
func slotsRemove(slots []Stack, item ItemID, n int32) int32 {
	left := n
	for i := len(slots) - 1; i >= 0 && left > 0; i-- {
		if slots[i].Item == item && slots[i].Count > 0 {
			take := min(slots[i].Count, left)
			slots[i].Count -= take
			left -= take
			if slots[i].Count == 0 {
				slots[i].Item = 0
			}
		}
	}
	return n - left
}

// slotsLast returns the item in the last non-empty slot, or 0.
func slotsLast(slots []Stack) ItemID {
	for i := len(slots) - 1; i >= 0; i-- {
		if slots[i].Count > 0 {
			return slots[i].Item
		}
	}
	return 0
}

// slotsTotal returns the total number of items held.
func slotsTotal(slots []Stack) int64 {
	var n int64
	for i := range slots {
		n += int64(slots[i].Count)
	}
	return n
}

// slotsDrain empties a slot inventory into out, merging equal items.
func slotsDrain(slots []Stack, out []Stack) []Stack {
	for i := range slots {
		if slots[i].Count > 0 {
			out = addStack(out, slots[i].Item, slots[i].Count)
			slots[i] = Stack{}
		}
	}
	return out
}

// addStack adds items to a list of stacks, merging with an existing entry of the item.
func addStack(list []Stack, item ItemID, n int32) []Stack {
	if n <= 0 || item == 0 {
		return list
	}
	for i := range list {
		if list[i].Item == item {
			list[i].Count += n
			return list
		}
	}
	return append(list, Stack{item, n})
}

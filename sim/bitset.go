package sim

import "math/bits"

// bitset is a growable set of small integers; active entities of a kind are kept in one so
// that a tick visits them in index order and skips sleeping ones cheaply.
type bitset []uint64

func (b *bitset) set(i int32) {
	w := int(i >> 6)
	for w >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) clear(i int32) {
	w := int(i >> 6)
	if w < len(b) {
		b[w] &^= 1 << (uint(i) & 63)
	}
}

func (b bitset) has(i int32) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// each calls fn for every member in increasing order. Members added during the walk with
// an index above the current one are visited in the same walk; those below wait for the
// next. This is exactly the order a full scan in index order would see them in.
func (b bitset) each(fn func(i int32)) {
	for w := 0; w < len(b); w++ {
		var done uint64
		for {
			m := b[w] &^ done
			if m == 0 {
				break
			}
			bit := bits.TrailingZeros64(m)
			// Skip bits below the last visited one: they were woken after their turn.
			done |= (uint64(1) << uint(bit) << 1) - 1
			fn(int32(w<<6 | bit))
		}
	}
}

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }

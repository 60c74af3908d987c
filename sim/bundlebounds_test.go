package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A bundle whose stack sizes the 32-bit item counts cannot hold is refused when
// it is read, before any surface runs with it (2^31-1 overflowed in the first
// chest that added two stacks, and hot standbys drifted from their primaries).
func TestBundleStackSizesAreBounded(t *testing.T) {
	for size, ok := range map[int32]bool{1: true, 500: true, MaxStackSize: true, MaxStackSize + 1: false, 2147483647: false, 0: false, -5: false} {
		data, err := DefaultBundle().CanonicalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var b Bundle
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		b.Items[0].StackSize = size
		if data, err = json.Marshal(&b); err != nil {
			t.Fatal(err)
		}
		_, err = LoadBundle(bytes.NewReader(data))
		if ok && err != nil {
			t.Errorf("stack size %d refused: %v", size, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "is out of range: 1 to 1000000")) {
			t.Errorf("stack size %d: %v, want it refused with the range", size, err)
		}
	}
}

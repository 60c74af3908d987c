package validate

import (
	"strings"
	"testing"
)

// What moves a terminal or reorders text is refused in a line and escaped for
// display: control characters, line separators and bidirectional controls;
// ordinary text, emoji with joiners included, passes.
func TestLineRefusesWhatRewritesTheText(t *testing.T) {
	for _, bad := range []string{"a\nb", "x\x1b[2J", "hi \u202enimda si revres", "\u2066isolate\u2069", "mark\u200f", "sep\u2028"} {
		if err := Line("text", bad, 200); err == nil || !strings.Contains(err.Error(), "has a control character") {
			t.Errorf("Line(%q) = %v, want refused", bad, err)
		}
		if esc := Escape(bad); strings.ContainsFunc(esc, IsControl) {
			t.Errorf("Escape(%q) = %q still holds a control", bad, esc)
		}
	}
	for _, good := range []string{"hello, world", "déjà vu", "👩\u200d🚀 to orbit", "日本語"} {
		if err := Line("text", good, 200); err != nil {
			t.Errorf("Line(%q) = %v, want accepted", good, err)
		}
	}
}

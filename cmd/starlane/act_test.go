package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A step refused before joining (it does not parse) still answers --json on
// stdout, as one outcome, so a tool reading stdout is not left with nothing.
func TestActJSONSaysARefusedStep(t *testing.T) {
	out, _, err := runStarlane(t, "", "act", "--surface", "nauvis", "--json", "build stone-furnace 20,0 dir=northeast")
	var res []struct {
		Step  string `json:"step"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err == nil || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 || res[0].OK || !strings.Contains(res[0].Error, `direction "northeast"`) {
		t.Fatalf("act --json with a bad step: %v, stdout %q; want exit 1 and the refusal as JSON", err, out)
	}
}

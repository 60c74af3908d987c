package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagHelpReadsRight walks every command's flags as --help prints them: a
// back-quoted phrase in a usage string becomes the flag's value name
// (pflag.UnquoteUsage), so "--token starlane dev" would be printed; and a secret
// taken from the environment must not be printed as the flag's default.
func TestFlagHelpReadsRight(t *testing.T) {
	const secret = "slo-secret-from-the-environment"
	for _, env := range []string{"STARLANE_TOKEN", "STARLANE_PLAYER_KEY", "STARLANE_JOIN_TOKEN"} {
		t.Setenv(env, secret)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " ()") {
				t.Errorf("%s --%s: help shows it as taking %q (a back-quoted phrase in its usage)", c.CommandPath(), f.Name, name)
			}
			if strings.Contains(f.DefValue, secret) {
				t.Errorf("%s --%s: help prints the secret from the environment as its default", c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}

// Values that cannot be used are refused in the tool's words, before anything is
// sent, with no Go parser text (strconv, maps) in front of the user.
func TestBadValuesAreRefusedPlainly(t *testing.T) {
	bp := "../../testdata/blueprints/rs_latch_2_0.txt"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"surface", "create", "g", "--replicas", "-1", "--controller", "127.0.0.1:1"}, `invalid argument "-1" for "--replicas" flag: want a whole number, 0 or more`},
		{[]string{"surface", "create", "g", "--planet", "", "--controller", "127.0.0.1:1"}, "--planet is empty: give one of aquilo, fulgora, gleba, nauvis, vulcanus, or leave out --planet for nauvis"},
		{[]string{"surface", "create", "g", "--save", " ", "--controller", "127.0.0.1:1"}, "--save is empty: give a save's name or sha256"},
		{[]string{"bench", "--ticks", "abc"}, `invalid argument "abc" for "--ticks" flag: want a whole number`},
		{[]string{"surface", "get"}, "starlane surface get: wrong number of arguments (none given); usage: starlane surface get NAME (see 'starlane surface get --help')"},
		{[]string{"player", "ban"}, "starlane player ban: wrong number of arguments (none given); usage: starlane player ban NAME [REASON...]"},
		{[]string{"sim", "run", "--map", "empty", "--blueprint", bp, "--at", "99999999999,0", "--ticks", "1"}, "--at: 99999999999,0 is outside the map (tiles -1000000 to 999999 on each axis)"},
		{[]string{"sim", "run", "--map", "empty", "--blueprint", bp, "--at", "1,x", "--ticks", "1"}, `"1,x" is not X,Y`},
		{[]string{"token", "create", "--role", "admin", "--ttl", "100000h", "--controller", "127.0.0.1:1"}, "--ttl 100000h0m0s: a token lives at most 87600h0m0s (ten years)"},
		{[]string{"token", "create", "--role", "admin", "--ttl", "999ms", "--controller", "127.0.0.1:1"}, "--ttl 999ms: a token lives whole seconds; give at least 1s"},
		{[]string{"act", "--surface", "la", "--controller", "127.0.0.1:1", "label 0,2 " + strings.Repeat("p", 64)}, "a label is at most 63 printable ASCII characters, the longest name a bridge port can have"},
		{[]string{"node", "--controller", "127.0.0.1:1", "--join-token", "x", "--data-dir", "unused", "--label", "zone=" + strings.Repeat("v", 256)},
			"--label: value of zone: \"" + strings.Repeat("v", 32) + "\"… (256 bytes): use at most 255 bytes of UTF-8"},
	} {
		root := newRootCmd()
		root.SetArgs(tc.args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "strconv") {
			t.Errorf("starlane %s: %v; want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// Game time given as a duration is an exact number of ticks, and a number of
// ticks prints back as the duration asked for, however long.
func TestGameTicksAreExact(t *testing.T) {
	for v, want := range map[string]uint64{"1s": 60, "5m": 18_000, "20000h": 0, "1000h": 216_000_000, "1.5s": 90, "10000h": 2_160_000_000} {
		got, err := gameTicks("--every", v)
		if want == 0 {
			if err == nil || !strings.Contains(err.Error(), "at most 10000h0m0s of game time") {
				t.Errorf("gameTicks(%s) = %d, %v; want refused as too long", v, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("gameTicks(%s) = %d, %v; want %d", v, got, err, want)
		}
		if back := ticksAsTime(got); back != mustDuration(t, v).String() {
			t.Errorf("ticksAsTime(%d) = %s, want %s", got, back, mustDuration(t, v))
		}
	}
}

func mustDuration(t *testing.T, v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// save upload speaks of its file argument, not of surface create's --map.
func TestSaveUploadNamesItsFile(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"save", "upload", "flagusage_test.go", "--name", "x", "--controller", "127.0.0.1:1"})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	err := root.Execute()
	if err == nil || !strings.HasPrefix(err.Error(), "flagusage_test.go: not a Starlane save") {
		t.Errorf("save upload of a file that is not a save: %v", err)
	}
}

// TestSaveFileEdgesArePlain: a directory or a too-short file given to save
// upload, and a download into a directory that does not exist, are refused
// before anything goes over the wire, in words rather than Go's.
func TestSaveFileEdgesArePlain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.sav")
	if err := os.WriteFile(junk, []byte("SLSAV"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent", "dir")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"save", "upload", dir}, dir + " is a directory: give a save file"},
		{[]string{"save", "upload", junk}, junk + ": not a Starlane save: it ends before its header"},
		{[]string{"save", "download", "starter", "--out", filepath.Join(missing, "x.sav")},
			"--out " + filepath.Join(missing, "x.sav") + ": directory " + missing + " does not exist"},
		{[]string{"save", "download", "starter", "--out", filepath.Join(junk, "x.sav")},
			"--out " + filepath.Join(junk, "x.sav") + ": " + junk + " is not a directory"},
	} {
		start := time.Now()
		_, _, err := runStarlane(t, "", append(tc.args, "--controller", "127.0.0.1:1", "--timeout", "3s")...)
		if exitCode(err) != 1 || !strings.HasPrefix(fmt.Sprint(err), tc.want) {
			t.Errorf("%q: exit %d, %v; want exit 1, %q", tc.args, exitCode(err), err, tc.want)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%q took %v: it must fail before dialing", tc.args, took.Round(time.Millisecond))
		}
	}
}

// TestSmallRefusalsSayTheRule: a non-positive --timeout is refused before
// dialing, and a number too large for its flag names the largest it takes.
func TestSmallRefusalsSayTheRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"surface", "list", "--timeout", "0s"}, "--timeout 0s: want a positive duration, such as 30s"},
		{[]string{"surface", "list", "--timeout", "-5s"}, "--timeout -5s: want a positive duration, such as 30s"},
		{[]string{"audit", "--limit", "99999999999"}, `invalid argument "99999999999" for "--limit" flag: want a whole number, 0 or more in range, at most 4294967295`},
		{[]string{"surface", "create", "g", "--replicas", "99999999999"}, `invalid argument "99999999999" for "--replicas" flag: want a whole number, 0 or more in range, at most 4294967295`},
	} {
		start := time.Now()
		_, _, err := runStarlane(t, "", append(tc.args, "--controller", "127.0.0.1:1")...)
		if exitCode(err) != 1 || fmt.Sprint(err) != tc.want {
			t.Errorf("%q: exit %d, %v; want exit 1, %q", tc.args, exitCode(err), err, tc.want)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%q took %v: it must fail before dialing", tc.args, took.Round(time.Millisecond))
		}
	}
}

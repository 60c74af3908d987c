// Package validate holds the documented limit of every request field of the
// public gRPC API and checks them at the edge, before a request reaches Raft,
// a shard or a log line. A refusal is an InvalidArgument status that names the
// field, the limit and how to fix it, and quotes at most a short prefix of the
// bad value, so a hostile field is never stored, forwarded or echoed whole.
//
// The limits (docs/api-limits.md lists them for users):
//
//	names (surfaces, nodes, bridges, controllers)   1–63 of [a-z0-9._-], starting alphanumeric
//	request IDs                                      ≤ 64 printable ASCII
//	planets and built-in maps                        from the cluster's known set
//	saves sent as content                            ≤ MaxSaveBytes
//	bundle hashes                                    64 lowercase hex digits
//	addresses                                        HOST:PORT, ≤ 255 bytes
//	join tokens                                      ≤ 128 bytes
//	free text (reasons, errors, versions)            ≤ 1,024 bytes
//	bridge ports, entity labels, item names          ≤ 63 bytes, printable ASCII
//	node labels                                      ≤ 32; keys ≤ 63 printable, values ≤ 255 UTF-8
//	lists in one request                             see the Max* constants
//
// gRPC message sizes are set on every server and client from the constants
// here too (MaxRequestBytes, MaxResponseBytes, MaxNodeMessageBytes).
package validate

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Limits of single fields and lists.
const (
	MaxNameBytes      = 63
	MaxRequestIDBytes = 64
	MaxAddressBytes   = 255
	MaxTokenBytes     = 128
	// MaxChatBytes bounds a chat line.
	MaxChatBytes = 500
	// MaxTicketBytes bounds a player ticket (internal/ticket.MaxBytes).
	MaxTicketBytes = 1024
	// MaxTokenTTLSeconds bounds an operator token's lifetime (ten years).
	MaxTokenTTLSeconds = 10 * 365 * 24 * 3600
	MaxTextBytes       = 1024
	// MaxLabelBytes bounds a bridge port's name, an item name and a node label's
	// key. A port is named by its entity label, so it is the simulation's
	// sim.MaxLabelBytes too (a test holds the two equal).
	MaxLabelBytes = 63
	// MaxLabelValue bounds a node label's value. It is longer on purpose: a value
	// is free text an operator matches placement on ("rack 12 in eu-west with NVMe"),
	// never a name another request refers to.
	MaxLabelValue  = 255
	MaxLabels      = 32
	MaxBundles     = 64
	MaxBridgeItems = 64
	MaxReplicas    = 5
	// MaxAutosaveKeep bounds how many autosaves a surface keeps.
	MaxAutosaveKeep = 100
	// MinAutosaveTicks is the shortest autosave interval (1 s of game time).
	MinAutosaveTicks = 60
	// MaxAutosaveTicks bounds the autosave interval: 10,000 hours of game time.
	MaxAutosaveTicks = 10_000 * 3600 * 60
	// MaxShardsPerNode bounds the shard and bridge lists of one heartbeat.
	MaxShardsPerNode = 8192
	// MaxSaveBytes is the largest save a client may send as content (a compressed
	// megabase save is a few MB).
	MaxSaveBytes = 64 << 20
	// MaxBundleBytes is the largest prototype bundle file (the built-in one is
	// under 2 MB of JSON).
	MaxBundleBytes = 32 << 20
	// quoteBytes is how much of a bad value an error message quotes.
	quoteBytes = 32
)

// gRPC message limits. A request that carries a save is the largest; lists are
// paged so that no response comes near MaxResponseBytes.
const (
	MaxRequestBytes     = MaxSaveBytes + 1<<20
	MaxResponseBytes    = 16 << 20
	MaxNodeMessageBytes = 64 << 20
	// PageBytes is the size at which a list page is cut short.
	PageBytes = 2 << 20
	// DefaultPageSize and MaxPageSize bound the records of one list page.
	DefaultPageSize = 500
	MaxPageSize     = 2000
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Quote returns at most a short prefix of v, quoted, for an error message.
func Quote(v string) string {
	if len(v) <= quoteBytes {
		return strconv.Quote(v)
	}
	cut := quoteBytes
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(v[:cut]), len(v))
}

// Invalid returns an InvalidArgument status for field.
func Invalid(field, format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "%s: %s", field, fmt.Sprintf(format, args...))
}

// Name checks a required name.
func Name(field, v string) error {
	if v == "" {
		return Invalid(field, "is required")
	}
	if !nameRE.MatchString(v) {
		return Invalid(field, "%s is not a valid name: use 1-%d lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", Quote(v), MaxNameBytes)
	}
	return nil
}

// IsName reports whether v is a valid name (1-63 of [a-z0-9._-], starting
// alphanumeric), for checks whose refusal is not a gRPC status.
func IsName(v string) bool {
	return nameRE.MatchString(v)
}

// OptName checks a name that may be empty.
func OptName(field, v string) error {
	if v == "" {
		return nil
	}
	return Name(field, v)
}

// RequestID checks a request ID (empty means the call is not retried).
func RequestID(v string) error {
	return Printable("request_id", v, MaxRequestIDBytes, false)
}

// Text checks free text (a reason, an error, a version).
func Text(field, v string, max int) error {
	if len(v) > max {
		return Invalid(field, "%s is longer than %d bytes", Quote(v), max)
	}
	if !utf8.ValidString(v) {
		return Invalid(field, "%s is not UTF-8", Quote(v))
	}
	return nil
}

// Line checks free text that people read in tables, logs and terminals (a ban
// reason, a chat line, a bundle's name): Text, on one line of printable
// characters. A newline could forge a row of the audit log or the player list,
// and an escape sequence would drive the terminal of whoever lists it.
func Line(field, v string, max int) error {
	if err := Text(field, v, max); err != nil {
		return err
	}
	for i, r := range v {
		if IsControl(r) {
			return Invalid(field, "%s has a control character (%U, such as a newline or a terminal escape) at byte %d: write it on one line of printable characters", Quote(v), r, i)
		}
	}
	return nil
}

// IsControl reports whether r moves a terminal or a table rather than printing,
// or changes how the text around it reads: a control character, a Unicode line
// or paragraph separator, or a bidirectional control (an override such as
// U+202E shows the rest of a line reversed, so "hi \u202enimda si revres"
// reads "hi server is admin").
func IsControl(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	}
	return false
}

// Escape writes s's control characters (IsControl) as Go escapes (\n, \x1b,
// \u2028), so that text stored before the edge refused them, or repeated back
// as given, cannot forge lines or drive a terminal where it is shown.
func Escape(s string) string {
	if !strings.ContainsFunc(s, IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// reservedPlayerNames are names the cluster itself speaks under in chat: a
// player by one of them could forge its lines.
var reservedPlayerNames = map[string]bool{"server": true, "console": true, "controller": true, "system": true}

// PlayerName checks a player's name: a Name that is not one the cluster speaks
// under.
func PlayerName(field, v string) error {
	if err := Name(field, v); err != nil {
		return err
	}
	if reservedPlayerNames[v] {
		return Invalid(field, "%q is reserved: the cluster speaks under it in chat; choose another name", v)
	}
	return nil
}

// Label checks a short printable label (a bridge port, an item name).
func Label(field, v string, required bool) error {
	if v == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	return Printable(field, v, MaxLabelBytes, required)
}

// Port checks a bridge port's name: the port's entity ID or its entity label,
// which the simulation limits to MaxLabelBytes printable ASCII characters.
func Port(field, v string, required bool) error {
	if v == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if len(v) > MaxLabelBytes || !printable(v) {
		return Invalid(field, "%s: a port is named by its entity ID or its label, and a label is at most %d printable ASCII characters (the simulation refuses longer ones)", Quote(v), MaxLabelBytes)
	}
	return nil
}

// NodeLabels checks a node's placement labels, in key order so that the same
// labels always give the same first error: at most MaxLabels, keys of at most
// MaxLabelBytes printable ASCII characters, values of at most MaxLabelValue
// bytes of UTF-8.
func NodeLabels(field string, labels map[string]string) error {
	if err := Count(field, len(labels), MaxLabels); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if k == "" || len(k) > MaxLabelBytes || !printable(k) {
			return Invalid(field, "key %s: use 1-%d printable ASCII characters (a key is a name; its value may be up to %d bytes)", Quote(k), MaxLabelBytes, MaxLabelValue)
		}
		if v := labels[k]; len(v) > MaxLabelValue || !utf8.ValidString(v) {
			return Invalid(field, "value of %s: %s: use at most %d bytes of UTF-8 (a value is free text, longer than the %d of a key or a bridge port's label on purpose)", k, Quote(v), MaxLabelValue, MaxLabelBytes)
		}
	}
	return nil
}

// Printable checks a value of at most max printable ASCII characters.
func Printable(field, v string, max int, required bool) error {
	if v == "" && required {
		return Invalid(field, "is required")
	}
	if len(v) > max || !printable(v) {
		return Invalid(field, "%s: use at most %d printable ASCII characters", Quote(v), max)
	}
	return nil
}

// Address checks a HOST:PORT address.
func Address(field, v string, required bool) error {
	if v == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if len(v) > MaxAddressBytes {
		return Invalid(field, "%s is longer than %d bytes", Quote(v), MaxAddressBytes)
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" || !printable(host) {
		return Invalid(field, "%s is not HOST:PORT", Quote(v))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Invalid(field, "%s has no valid port (1-65535)", Quote(v))
	}
	return nil
}

// Hash checks a content hash (64 lowercase hex digits); empty is allowed
// unless required.
func Hash(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if len(v) != 64 || strings.Trim(v, "0123456789abcdef") != "" {
		return Invalid(field, "%s is not a hash: want 64 lowercase hex digits", Quote(v))
	}
	return nil
}

// SaveRef checks a reference to an uploaded save: its name or its sha256.
func SaveRef(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if Hash(field, v, true) == nil || Name(field, v) == nil {
		return nil
	}
	return Invalid(field, "%s names no save: give a save's name (1-%d of a-z 0-9 . _ -) or its sha256", Quote(v), MaxNameBytes)
}

// BundleRef checks a reference to a prototype bundle: its name, its hash or
// a prefix of 8 or more hex digits of its hash.
func BundleRef(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if Name(field, v) == nil || (len(v) >= 8 && len(v) <= 64 && strings.Trim(v, "0123456789abcdef") == "") {
		return nil
	}
	return Invalid(field, "%s names no bundle: give a bundle's name (1-%d of a-z 0-9 . _ -) or its hash (see: starlane bundle list)", Quote(v), MaxNameBytes)
}

// OneOf checks that v is empty (when allowed) or one of known.
func OneOf(field, v string, known []string, emptyOK bool, what string) error {
	if v == "" && emptyOK {
		return nil
	}
	if len(known) == 0 {
		return Name(field, v)
	}
	if !slices.Contains(known, v) {
		return Invalid(field, "unknown %s %s: this cluster knows %s", what, Quote(v), strings.Join(known, ", "))
	}
	return nil
}

// Count checks the length of a list.
func Count(field string, n, max int) error {
	if n > max {
		return Invalid(field, "has %d entries, at most %d are allowed", n, max)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// NameFrom turns free text (a file name) into a valid name: lowercase, other
// characters as '-', at most MaxNameBytes, no leading or trailing '.', '_' or
// '-'. It returns "" when nothing is left.
func NameFrom(s string) string {
	b := []byte(strings.ToLower(s))
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b[:min(len(b), MaxNameBytes)]), "._-")
}

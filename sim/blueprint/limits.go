package blueprint

import (
	"errors"
	"fmt"
)

// Limits bounds what one exchange string may cost to decode. A string that
// goes past any of them is refused with an error wrapping ErrLimit that
// names the limit, before the memory is taken.
type Limits struct {
	// MaxStringBytes bounds the exchange string itself (the base64 text).
	MaxStringBytes int
	// MaxJSONBytes bounds the inflated JSON; inflation stops one byte past it,
	// so a zip bomb costs at most this much memory.
	MaxJSONBytes int
	// MaxJSONDepth bounds the nesting of JSON objects and arrays.
	MaxJSONDepth int
	// MaxBookDepth bounds books nested in books.
	MaxBookDepth int
	// MaxBlueprints bounds the blueprints of a string, books flattened.
	MaxBlueprints int
	// MaxEntities bounds the entities of a string, all blueprints together.
	MaxEntities int
	// MaxTiles bounds the tiles of a string, all blueprints together.
	MaxTiles int
	// MaxWires bounds the wires of a string, all blueprints together.
	MaxWires int
}

// DefaultLimits returns limits generous for real bases (a million entities)
// that keep a hostile string well under a gigabyte of memory.
func DefaultLimits() Limits {
	return Limits{
		MaxStringBytes: 32 << 20,
		MaxJSONBytes:   64 << 20,
		MaxJSONDepth:   128,
		MaxBookDepth:   16,
		MaxBlueprints:  100_000,
		MaxEntities:    1_000_000,
		MaxTiles:       2_000_000,
		MaxWires:       1_000_000,
	}
}

// ErrLimit is wrapped by every error about a string that exceeds Limits.
var ErrLimit = errors.New("blueprint limit exceeded")

// Error is a decoding error, at a place in the blueprint JSON when Path is
// set (for example "blueprint.entities[3].position").
type Error struct {
	Path string
	Msg  string
	err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap returns ErrLimit for limit errors.
func (e *Error) Unwrap() error { return e.err }

func newError(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func limitError(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...), err: ErrLimit}
}

// mib renders a byte limit for messages: "64 MiB" or "1500 bytes".
func mib(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

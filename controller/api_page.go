package controller

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/internal/validate"
)

// pageOf returns one page of the records named by keys (sorted), starting
// after token, and the token of the next page ("" when this is the last). A
// page holds at most size records (0: the default) and is cut short once its
// encoding reaches validate.PageBytes, so no list, however many records the
// cluster holds, exceeds a message limit.
func pageOf[T proto.Message](keys []string, get func(string) T, size uint32, token string) ([]T, string) {
	if size == 0 {
		size = validate.DefaultPageSize
	}
	start := sort.SearchStrings(keys, token)
	if start < len(keys) && keys[start] == token && token != "" {
		start++
	}
	var out []T
	bytes := 0
	for i := start; i < len(keys); i++ {
		rec := get(keys[i])
		bytes += proto.Size(rec) + 4
		if len(out) > 0 && (uint32(len(out)) >= size || bytes > validate.PageBytes) {
			return out, keys[i-1]
		}
		out = append(out, rec)
	}
	return out, ""
}

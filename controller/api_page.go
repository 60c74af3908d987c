package controller

import (
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/internal/validate"
)

// pageOf returns one page of list's records named by keys (sorted), starting
// after the key a page token names, and the token of the next page ("" when
// this is the last). A page holds at most size records (0: the default) and is
// cut short once its encoding reaches validate.PageBytes, so no list, however
// many records the cluster holds, exceeds a message limit.
//
// A token is "LIST:KEY", the last key of the page before: a cursor, stable
// while records come and go. One of another list, or not a token at all, is
// refused rather than read as the end of the list.
func pageOf[T proto.Message](list string, keys []string, get func(string) T, size uint32, token string) ([]T, string, error) {
	after, err := pageAfter(list, token)
	if err != nil {
		return nil, "", err
	}
	if size == 0 {
		size = validate.DefaultPageSize
	}
	start := sort.SearchStrings(keys, after)
	if start < len(keys) && keys[start] == after && after != "" {
		start++
	}
	var out []T
	bytes := 0
	for i := start; i < len(keys); i++ {
		rec := get(keys[i])
		bytes += proto.Size(rec) + 4
		if len(out) > 0 && (uint32(len(out)) >= size || bytes > validate.PageBytes) {
			return out, list + ":" + keys[i-1], nil
		}
		out = append(out, rec)
	}
	return out, "", nil
}

// pageAfter is the key a page token of list names ("" for none).
func pageAfter(list, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	kind, key, ok := strings.Cut(token, ":")
	if !ok || kind != list || key == "" {
		return "", status.Errorf(codes.InvalidArgument, "page_token %s is not a next_page_token of the %s list: pass the one the previous page returned, or none for the first page",
			validate.Quote(token), list)
	}
	return key, nil
}

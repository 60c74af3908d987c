#!/usr/bin/env bash
# Regenerates the Go code for proto/starlane/v1/*.proto (run by `make proto`).
# Installs protoc from Debian's protobuf-compiler if missing, and the Go plugins at
# pinned versions so the committed output is reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

if ! command -v protoc >/dev/null 2>&1; then
	echo "gen-proto: installing protoc (Debian protobuf-compiler)" >&2
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

bin="$(go env GOPATH)/bin"
want_go="protoc-gen-go ${PROTOC_GEN_GO_VERSION}"
if [ "$("$bin/protoc-gen-go" --version 2>/dev/null)" != "$want_go" ]; then
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
fi
want_grpc="protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}"
if [ "$("$bin/protoc-gen-go-grpc" --version 2>/dev/null)" != "$want_grpc" ]; then
	go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"
fi

PATH="$bin:$PATH" protoc \
	-I proto \
	--go_out=. --go_opt=module=github.com/starlane/starlane \
	--go-grpc_out=. --go-grpc_opt=module=github.com/starlane/starlane \
	proto/starlane/v1/*.proto
echo "gen-proto: generated $(ls proto/starlane/v1/*.pb.go | wc -l) files" >&2

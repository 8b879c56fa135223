#!/usr/bin/env bash
# Regenerates the Go code of every proto under proto/protolearn, fully offline:
# third-party .proto files come from the Go module cache (versions pinned by go.mod),
# google/protobuf from the system protoc, plugins from tools/go.mod (pinned `tool` directives).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 1; }

bin="$PWD/build/tools"
mkdir -p "$bin"
(cd tools && go build -o "$bin/" github.com/cosmos/gogoproto/protoc-gen-gocosmos github.com/grpc-ecosystem/grpc-gateway/protoc-gen-grpc-gateway)
export PATH="$bin:$PATH"

moddir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
ver() { go list -m -f '{{.Version}}' "$1"; }
gogo=$(moddir "github.com/cosmos/gogoproto@$(ver github.com/cosmos/gogoproto)")
cproto=$(moddir "github.com/cosmos/cosmos-proto@$(ver github.com/cosmos/cosmos-proto)")
sdk=$(moddir "github.com/cosmos/cosmos-sdk@$(ver github.com/cosmos/cosmos-sdk)")
gw=$(moddir "github.com/grpc-ecosystem/grpc-gateway@$(ver github.com/grpc-ecosystem/grpc-gateway)")
sysinc=/usr/include
[ -f "$sysinc/google/protobuf/descriptor.proto" ] || { echo "google/protobuf/*.proto missing: apt-get install -y libprotobuf-dev" >&2; exit 1; }

includes=(-I proto -I "$gogo" -I "$cproto/proto" -I "$sdk/proto" -I "$gw/third_party/googleapis" -I "$sysinc")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for dir in $(find proto/protolearn -name '*.proto' -exec dirname {} \; | sort -u); do
  files=$(find "$dir" -maxdepth 1 -name '*.proto' | sort)
  # shellcheck disable=SC2086
  protoc "${includes[@]}" \
    --gocosmos_out="plugins=grpc,Mgoogle/protobuf/any.proto=github.com/cosmos/gogoproto/types/any:$out" \
    $files
  if grep -q 'google.api.http' $files; then
    # shellcheck disable=SC2086
    protoc "${includes[@]}" \
      --grpc-gateway_out="logtostderr=true,allow_colon_final_segments=true:$out" \
      $files
  fi
done

# gocosmos ignores module=, so output lands under the import path: move it into place.
cp -r --no-preserve=mode "$out/github.com/protolearn/protolearn/." .
echo "proto-gen: generated $(find "$out" -name '*.go' | wc -l) files"

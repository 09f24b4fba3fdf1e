#!/usr/bin/env bash
# Replaces the vendored OWASP CRS release: `make crs-update VERSION=x.y.z [CRS_SRC=...]`
# runs `crs/update.sh x.y.z [SRC]`.
#
#   1. Gets release x.y.z: SRC when given (an unpacked release folder, or a .tar.gz of
#      one), else the GitHub tarball of coreruleset/coreruleset tag vx.y.z ($CRS_URL
#      overrides the address).
#   2. Lays it out as edgewaf reads it, in crs/vx.y.z: LICENSE, crs-setup.conf.example,
#      rules/, and the go-ftw regression tests under tests/ (tests/tests/<rule file>/*.yaml;
#      the GitHub tree keeps them in tests/regression/). Files are copied byte for byte.
#   3. Points every reference at it: CRS_VERSION in the Makefile, and every tracked file
#      that names crs/v<old> (policies/api.toml, tests, benches, examples, docs).
#   4. Removes the old crs/v<old> folder (git still has it) and prints what to check.
set -euo pipefail

die() { echo "crs-update: $*" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
new=${1:-}
src=${2:-}
[[ $new =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.]+)?$ ]] \
  || die "VERSION must look like 4.28.0 (got \"$new\")"
old=$(sed -n 's/^CRS_VERSION := //p' "$repo/Makefile")
[ -n "$old" ] || die "no \"CRS_VERSION := ...\" line in $repo/Makefile"
dest=$repo/crs/v$new

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The release.
if [ -z "$src" ]; then
  url=${CRS_URL:-https://github.com/coreruleset/coreruleset/archive/refs/tags/v$new.tar.gz}
  echo "downloading $url"
  curl -fsSL --retry 2 -o "$tmp/release.tar.gz" "$url" \
    || die "could not download $url; download and unpack the release yourself, then
    make crs-update VERSION=$new CRS_SRC=/path/to/coreruleset-$new"
  src=$tmp/release.tar.gz
  echo "sha256 $(sha256sum "$src" | cut -d' ' -f1)  (compare with the release page)"
fi
if [ -f "$src" ]; then
  mkdir "$tmp/unpacked"
  tar -xzf "$src" -C "$tmp/unpacked" || die "$src is not a .tar.gz"
  root=$(find "$tmp/unpacked" -mindepth 1 -maxdepth 2 -name crs-setup.conf.example -printf '%h\n' | head -n1)
  [ -n "$root" ] || die "$src holds no crs-setup.conf.example: not a CRS release"
elif [ -d "$src" ]; then
  root=$(cd "$src" && pwd)
else
  die "CRS_SRC=$src is neither a folder nor a file"
fi

# 2. The layout edgewaf reads.
for f in LICENSE crs-setup.conf.example rules; do
  [ -e "$root/$f" ] || die "$root has no $f: not a CRS release folder"
done
stage=$tmp/stage
mkdir -p "$stage/tests"
cp -p "$root/LICENSE" "$root/crs-setup.conf.example" "$stage/"
cp -pR "$root/rules" "$stage/rules"
if [ -d "$root/tests/regression/tests" ]; then
  cp -pR "$root/tests/regression/." "$stage/tests/"
  if [ -f "$root/tests/TESTS_EXCLUSIONS" ]; then cp -p "$root/tests/TESTS_EXCLUSIONS" "$stage/tests/"; fi
elif [ -d "$root/tests/tests" ]; then
  cp -pR "$root/tests/." "$stage/tests/"
else
  die "$root has no regression tests (tests/regression/tests or tests/tests)"
fi
ls "$stage"/rules/*.conf >/dev/null 2>&1 || die "$root/rules holds no .conf files"
if ! grep -q "OWASP_CRS/$new\"" "$stage/rules/REQUEST-901-INITIALIZATION.conf" 2>/dev/null; then
  echo "warning: rules/REQUEST-901-INITIALIZATION.conf does not say OWASP_CRS/$new"
fi

# 3. Into place, and every reference bumped.
[ "$new" = "$old" ] || [ ! -e "$dest" ] || die "$dest exists already"
rm -rf "$dest"
mv "$stage" "$dest"
echo "vendored CRS $new in crs/v$new ($(find "$dest" -type f | wc -l) files)"
changed=()
if [ "$new" != "$old" ]; then
  sed -i "s/^CRS_VERSION := .*/CRS_VERSION := $new/" "$repo/Makefile"
  changed+=(Makefile)
  if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    mapfile -t refs < <(git -C "$repo" grep -lF "crs/v$old" -- . ':!crs/v*')
  else
    mapfile -t refs < <(cd "$repo" && grep -rlF "crs/v$old" --exclude-dir=target --exclude-dir=crs .)
  fi
  for f in "${refs[@]}"; do
    sed -i "s#crs/v$old#crs/v$new#g" "$repo/$f"
    changed+=("${f#./}")
  done
  # 4. The old release goes.
  rm -rf "$repo/crs/v$old"
  echo "removed crs/v$old; references bumped in: ${changed[*]}"
fi

cat <<EOF

Next:
  git add crs/ ${changed[*]}     # and review: git status; git diff --stat
  make test                      # the whole suite, then crs-test over the new regression tests
Then check by hand:
  - crs-test failures: fix the engine, or add an entry with its reason to tests/crs-overrides.yaml;
  - the README's CRS figures (test counts, benchmarks) were measured on v$old;
  - mentions of the version outside paths: git grep -n "v$old\|$old" -- . ':!crs/'
EOF

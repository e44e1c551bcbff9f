#!/usr/bin/env bash
# Releases the modules of this repository: the core module and every
# module under integrations/ (found by their go.mod files, so a new
# integration is picked up without editing this script). See
# docs/releasing.md for the whole process.
#
#   bash scripts/release.sh dry-run [VERSION]   check that every module would resolve, build
#                                               and test for a consumer, with no replace, from
#                                               a local module proxy holding VERSION; then the
#                                               API check
#   bash scripts/release.sh api-check           API compatibility of HEAD against the last tag
#                                               (or the documented baseline before the first tag)
#   bash scripts/release.sh prepare [VERSION]   make every integration require the core at VERSION
#   bash scripts/release.sh tag [VERSION]       create the tags vVERSION and integrations/NAME/vVERSION
#                                               at HEAD (local only; pushing is left to a person)
#   bash scripts/release.sh modules             list the released modules: DIR MODULE_PATH
#
# VERSION defaults to the version of the first release heading of
# CHANGELOG.md ("## v0.1.0 ..."): the one the next release tags.
#
# Environment:
#   RELEASE_TMP       work directory of dry-run and api-check (default: a new
#                     temporary directory, removed at the end)
#   RELEASE_TESTS     0 to skip the consumers' go test (default 1: run them,
#                     with -short)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
core=github.com/aponysus/rego

# The commit the API check compares with while no release tag exists: the
# main branch when the release layout was introduced. The first tag
# replaces it.
api_baseline=3db13e446f607c5c621a6242811e40d8d4716d3e

die() { echo "release: $*" >&2; exit 1; }
step() { printf '\n=== release: %s (at %ds)\n' "$*" "$SECONDS"; }

# modules prints "DIR MODULE_PATH" for the core and every integration.
modules() {
	echo ". $core"
	find integrations -name go.mod -not -path '*/testdata/*' | sort | while read -r f; do
		d=$(dirname "$f")
		p=$(awk '$1 == "module" { print $2; exit }' "$f")
		[ "$p" = "$core/$d" ] || die "$f declares module $p; a module in $d must be $core/$d"
		echo "$d $p"
	done
}

changelog_version() {
	local v
	v=$(grep -m1 -oE '^## v[0-9]+\.[0-9]+\.[0-9]+' CHANGELOG.md | sed 's/^## //') || true
	[ -n "$v" ] || die "CHANGELOG.md has no '## vX.Y.Z' heading"
	echo "$v"
}

version_arg() {
	local v=${1:-$(changelog_version)}
	[[ "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version $v is not vMAJOR.MINOR.PATCH"
	echo "$v"
}

tag_of() { # DIR VERSION
	if [ "$1" = "." ]; then echo "$2"; else echo "$1/$2"; fi
}

# check_layout fails unless every integration requires the core at VERSION
# and replaces it with the local tree (for development and GOWORK=off tests).
check_layout() {
	local v=$1 bad=0 d p req rep
	while read -r d p; do
		[ "$d" = "." ] && continue
		req=$(cd "$d" && GOWORK=off go mod edit -json | awk -v core="$core" '
			/"Require"/ { inreq = 1 } /"Replace"/ { inreq = 0 }
			inreq && $0 ~ "\"Path\": \"" core "\"" { getline; gsub(/[",]/, "", $2); print $2; exit }')
		rep=$(cd "$d" && GOWORK=off go mod edit -json | awk -v core="$core" '
			/"Replace"/ { inrep = 1 }
			inrep && $0 ~ "\"Path\": \"" core "\"" { found = 1 }
			found && /"New"/ { getline; gsub(/[",]/, "", $2); print $2; exit }')
		if [ "$req" != "$v" ]; then
			echo "release: $d/go.mod requires $core ${req:-(nothing)}, not $v: run 'bash scripts/release.sh prepare $v'" >&2
			bad=1
		fi
		if [ -z "$rep" ]; then
			echo "release: $d/go.mod has no 'replace $core => <path to the repository root>' for development" >&2
			bad=1
		fi
	done < <(modules)
	[ "$bad" = 0 ] || exit 1
}

cmd_prepare() {
	local v d p
	v=$(version_arg "${1:-}")
	while read -r d p; do
		[ "$d" = "." ] && continue
		(cd "$d" && GOWORK=off go mod edit -require="$core@$v")
		echo "$d: requires $core $v"
	done < <(modules)
}

cmd_tag() {
	local v d p t
	v=$(version_arg "${1:-}")
	[ -z "$(git status --porcelain)" ] || die "the work tree has uncommitted changes"
	check_layout "$v"
	while read -r d p; do
		t=$(tag_of "$d" "$v")
		git rev-parse -q --verify "refs/tags/$t" >/dev/null && die "tag $t exists already"
	done < <(modules)
	while read -r d p; do
		t=$(tag_of "$d" "$v")
		git tag -a "$t" -m "$p $v"
		echo "tagged $t"
	done < <(modules)
	echo "Push with: git push origin $(modules | while read -r d p; do printf '%s ' "$(tag_of "$d" "$v")"; done)"
}

# workdir sets $tmp: RELEASE_TMP, kept, or a new directory removed on exit.
workdir() {
	[ -z "${tmp:-}" ] || return 0 # the dry run's, when it runs the API check
	if [ -n "${RELEASE_TMP:-}" ]; then
		mkdir -p "$RELEASE_TMP"
		tmp=$RELEASE_TMP
	else
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/rego-release.XXXXXX")
		trap cleanup_tmp EXIT
	fi
}

cleanup_tmp() {
	if [ -z "${RELEASE_TMP:-}" ] && [ -n "${tmp:-}" ]; then
		chmod -R u+w "$tmp" 2>/dev/null || true
		rm -rf "$tmp"
	fi
}

# releasetool builds the Go half of this script (scripts/releasetool, its
# own module) and apidiff into $tmp/bin.
build_tools() {
	mkdir -p "$tmp/bin"
	(cd scripts/releasetool && GOWORK=off go build -o "$tmp/bin/releasetool" . &&
		GOWORK=off go build -o "$tmp/bin/apidiff" golang.org/x/exp/cmd/apidiff)
}

cmd_api_check() {
	local next=${1:-$(changelog_version)} last base d p name old new report bad=0 breaking_ok
	workdir
	[ -x "$tmp/bin/apidiff" ] || build_tools
	last=$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null || true)
	if [ -n "$last" ]; then
		base=$last
		step "API check: $last -> HEAD (next release $next)"
	else
		base=$api_baseline
		step "API check: no release tag yet; comparing HEAD with the documented baseline ${base:0:12} (docs/releasing.md)"
	fi
	git cat-file -e "$base^{commit}" 2>/dev/null || die "baseline $base is not in this clone (a shallow clone? fetch the history)"
	# Incompatible changes are allowed in a new major version, in a new
	# minor version below v1 (semantic versioning gives v0 no promise),
	# and before the first release; then they must be listed in
	# CHANGELOG.md. Otherwise they fail the check.
	breaking_ok=0
	if [ -z "$last" ]; then
		breaking_ok=1
	else
		local lmaj lmin nmaj nmin
		IFS=. read -r lmaj lmin _ <<<"${last#v}"
		IFS=. read -r nmaj nmin _ <<<"${next#v}"
		if [ "$nmaj" != "$lmaj" ] || { [ "$nmaj" = 0 ] && [ "$nmin" != "$lmin" ]; }; then
			breaking_ok=1
		fi
	fi
	rm -rf "$tmp/api" && mkdir -p "$tmp/api/old" "$tmp/api/new"
	git archive "$base" | tar -x -C "$tmp/api/old"
	git archive HEAD | tar -x -C "$tmp/api/new"
	while read -r d p; do
		name=$(echo "$d" | tr '/.' '__')
		if [ ! -f "$tmp/api/old/$d/go.mod" ]; then
			echo "$p: new module since $base; nothing to compare"
			continue
		fi
		old="$tmp/api/$name.old"
		new="$tmp/api/$name.new"
		(cd "$tmp/api/old/$d" && GOWORK=off GOFLAGS=-mod=mod "$tmp/bin/apidiff" -m -w "$old" "$p")
		(cd "$tmp/api/new/$d" && GOWORK=off GOFLAGS=-mod=mod "$tmp/bin/apidiff" -m -w "$new" "$p")
		report=$("$tmp/bin/apidiff" -m -incompatible "$old" "$new")
		if [ -z "$report" ]; then
			echo "$p: no incompatible change"
			continue
		fi
		echo "$p: incompatible changes since $base:"
		echo "$report" | sed 's/^/    /'
		[ "$breaking_ok" = 1 ] || bad=1
	done < <(modules)
	if [ "$bad" = 1 ]; then
		die "incompatible API changes in $next, which is neither a new major version nor a new minor version of a v0 module"
	fi
	echo "API check passed (incompatible changes, if any, are allowed in $next and belong in CHANGELOG.md)"
}

modcache=$(go env GOMODCACHE)

# purge_own_modules removes this repository's modules from the module cache
# (extracted copies and downloads): only dry runs put them there.
purge_own_modules() {
	local m
	for m in "$modcache/$core"@* "$modcache/$core" "$modcache/cache/download/$core"; do
		[ -e "$m" ] || continue
		chmod -R u+w "$m" && rm -rf "$m"
	done
}

cmd_dry_run() {
	local v d p name t c pkgs imports mains real_proxy
	v=$(version_arg "${1:-}")
	workdir
	step "dry run of $v: modules"
	modules
	check_layout "$v"
	while read -r d p; do
		t=$(tag_of "$d" "$v")
		if git rev-parse -q --verify "refs/tags/$t" >/dev/null &&
			[ "$(git rev-parse "$t^{commit}")" != "$(git rev-parse HEAD)" ]; then
			die "tag $t exists already at another commit: add the next version's heading to CHANGELOG.md"
		fi
	done < <(modules)
	if [ -n "$(git status --porcelain)" ]; then
		echo "release: WARNING: uncommitted changes are not part of the dry run (it packages HEAD)" >&2
	fi

	step "tools"
	build_tools
	(cd scripts/releasetool && GOWORK=off go vet ./... && GOWORK=off go test -count=1 ./...)

	step "the modules' dependencies, into the module cache"
	while read -r d p; do
		(cd "$d" && GOWORK=off go mod download)
	done < <(modules)

	step "local module proxy with $v of every module (from HEAD)"
	rm -rf "$tmp/proxy"
	local specs=()
	while read -r d p; do specs+=("$p=$d@$v"); done < <(modules)
	"$tmp/bin/releasetool" proxy -repo "$root" -rev HEAD -dir "$tmp/proxy" "${specs[@]}"

	# The consumers see only the local proxy and, for third-party modules,
	# the module cache's download directory (itself laid out as a proxy):
	# no network, no checksum database, no workspace, no replace. They share
	# the module cache, so third-party packages are not compiled again; the
	# copies of this repository's modules that an earlier run left there are
	# removed first and at the end, so that each run reads the proxy anew.
	real_proxy="file://$modcache/cache/download"
	purge_own_modules
	trap 'purge_own_modules; cleanup_tmp' EXIT
	export_consumer_env() {
		# GODEBUG=goindex=0: the go command indexes the module cache by
		# path and version, assuming a version never changes; a dry run
		# packages the same version anew each time, so the index of an
		# earlier run would hide packages added since.
		export GODEBUG=goindex=0 GOWORK=off GOFLAGS=-mod=mod GOPROXY="file://$tmp/proxy,$real_proxy" GOSUMDB=off \
			GONOSUMDB="$core" GOPRIVATE= GONOPROXY= GOTOOLCHAIN=local
	}

	while read -r d p; do
		name=$(echo "$d" | tr '/.' '__')
		c="$tmp/consumers/$name"
		step "consumer of $p@$v"
		rm -rf "$c" && mkdir -p "$c"
		# The packages a consumer can import, the commands it can install,
		# and every package to test, as listed from the module's own tree.
		pkgs=$(cd "$d" && GOWORK=off go list ./...)
		imports=$(cd "$d" && GOWORK=off go list -f '{{if and (ne .Name "main") (not (eq (len .GoFiles) 0))}}{{.ImportPath}}{{end}}' ./... | grep -v '/internal/' || true)
		mains=$(cd "$d" && GOWORK=off go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./... || true)
		(
			export_consumer_env
			cd "$c"
			printf 'module example.com/regoconsumer/%s\n\ngo 1.22\n' "$name" >go.mod
			{
				echo "// Package main imports every public package of $p."
				echo "package main"
				echo
				echo "import ("
				for i in $imports; do echo "	_ \"$i\""; done
				echo ")"
				echo
				echo "func main() {}"
			} >main.go
			go get "$p@$v"
			go mod tidy
			# No replace reached the consumer: every module of this
			# repository in its build list is a released version.
			go list -m -f '{{.Path}} {{.Version}} {{if .Replace}}replaced{{end}}' "$core/..." | awk -v core="$core" -v v="$v" '
				$1 == core || index($1, core "/") == 1 {
					if ($2 != v || $3 == "replaced") { print "release: consumer resolved " $0 ", want " v " with no replace" > "/dev/stderr"; bad = 1 }
				}
				END { exit bad }'
			go build ./...
			[ -z "$mains" ] || go build -o /dev/null $mains
			if [ "${RELEASE_TESTS:-1}" != "0" ]; then
				go test -short -count=1 $pkgs # vets them too
			else
				go vet $pkgs
			fi
		)
		echo "consumer of $p@$v: resolved and built with no replace; tests $([ "${RELEASE_TESTS:-1}" != "0" ] && echo passed || echo compiled)"
	done < <(modules)

	cmd_api_check "$v"
	step "dry run of $v passed: every module resolves, builds and tests for a consumer"
}

case "${1:-}" in
dry-run) shift; cmd_dry_run "$@" ;;
api-check) shift; cmd_api_check "$@" ;;
prepare) shift; cmd_prepare "$@" ;;
tag) shift; cmd_tag "$@" ;;
modules) modules ;;
*) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

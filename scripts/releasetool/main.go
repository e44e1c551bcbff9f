// Command releasetool is the Go half of scripts/release.sh: it fills a
// file-based Go module proxy with the modules of this repository as they
// are at a git revision, under the versions about to be tagged.
//
//	releasetool proxy -repo ROOT -rev HEAD -dir PROXY MODPATH=SUBDIR@VERSION...
//
// For each module it writes, in the layout of the module proxy protocol
// (https://go.dev/ref/mod#goproxy-protocol):
//
//	PROXY/<escaped module path>/@v/list           the versions, one a line
//	PROXY/<escaped module path>/@v/VERSION.info   {"Version":..., "Time":...}
//	PROXY/<escaped module path>/@v/VERSION.mod    the module's go.mod
//	PROXY/<escaped module path>/@v/VERSION.zip    the module's files
//
// The zip holds the committed tree (git archive REV), as the go command
// makes it from a tag: uncommitted changes are not in it. It is made by
// golang.org/x/mod/zip.CreateFromDir, which leaves nested modules out and
// checks the module zip rules (size limits, file names, case collisions).
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "proxy" {
		fmt.Fprintln(os.Stderr, "usage: releasetool proxy -repo ROOT -rev REV -dir PROXY MODPATH=SUBDIR@VERSION...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	repo := fs.String("repo", ".", "root of the git repository")
	rev := fs.String("rev", "HEAD", "git revision to package")
	dir := fs.String("dir", "", "proxy directory to fill (required)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *repo, *rev, fs.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "releasetool:", err)
		os.Exit(1)
	}
}

// run fills the proxy at dir with the modules of specs, as of rev.
func run(dir, repo, rev string, specs []string) error {
	var mods []modSpec
	for _, arg := range specs {
		m, err := parseSpec(arg)
		if err != nil {
			return err
		}
		mods = append(mods, m)
	}
	src, err := os.MkdirTemp("", "releasetool-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := extract(repo, rev, src); err != nil {
		return err
	}
	for _, m := range mods {
		if err := writeModule(dir, repo, rev, src, m); err != nil {
			return fmt.Errorf("%s@%s: %w", m.path, m.version, err)
		}
		fmt.Printf("proxy: %s@%s (from %s)\n", m.path, m.version, displayDir(m.subdir))
	}
	return nil
}

// modSpec is one module to publish: MODPATH=SUBDIR@VERSION.
type modSpec struct{ path, subdir, version string }

func parseSpec(s string) (modSpec, error) {
	path, rest, ok := strings.Cut(s, "=")
	if !ok {
		return modSpec{}, fmt.Errorf("module %q: want MODPATH=SUBDIR@VERSION", s)
	}
	subdir, version, ok := strings.Cut(rest, "@")
	if !ok {
		return modSpec{}, fmt.Errorf("module %q: no @VERSION", s)
	}
	subdir = strings.Trim(filepath.ToSlash(subdir), "/")
	if subdir == "." {
		subdir = ""
	}
	if subdir != "" && !filepath.IsLocal(subdir) {
		return modSpec{}, fmt.Errorf("module %q: directory %q is not inside the repository", path, subdir)
	}
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return modSpec{}, fmt.Errorf("module %q: %q is not a canonical semantic version (vX.Y.Z)", path, version)
	}
	if err := module.Check(path, version); err != nil {
		return modSpec{}, err
	}
	return modSpec{path: path, subdir: subdir, version: version}, nil
}

func displayDir(subdir string) string {
	if subdir == "" {
		return "."
	}
	return subdir
}

// extract writes the tree of rev into dst.
func extract(repo, rev, dst string) error {
	cmd := exec.Command("git", "-C", repo, "archive", "--format=tar", rev)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	terr := untar(out, dst)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %v: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	return terr
}

func untar(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("git archive: unsafe path %q", h.Name)
		}
		path := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777|0o200)
			if err != nil {
				return err
			}
			_, cerr := io.Copy(f, tr)
			if err := f.Close(); cerr == nil {
				cerr = err
			}
			if cerr != nil {
				return cerr
			}
		case tar.TypeSymlink:
			// Module zips hold regular files only; the go command leaves
			// symlinks out too.
		}
	}
}

// writeModule adds one module version, whose tree at rev is extracted
// under src, to the proxy at dir.
func writeModule(dir, repo, rev, src string, m modSpec) error {
	gomodName := "go.mod"
	if m.subdir != "" {
		gomodName = m.subdir + "/go.mod"
	}
	gomod, err := git(repo, "show", rev+":"+gomodName)
	if err != nil {
		return fmt.Errorf("reading %s at %s: %w", gomodName, rev, err)
	}
	f, err := modfile.ParseLax(gomodName, gomod, nil)
	if err != nil {
		return err
	}
	if f.Module == nil || f.Module.Mod.Path != m.path {
		return fmt.Errorf("%s declares module %v, not %s", gomodName, f.Module, m.path)
	}
	when, err := git(repo, "show", "-s", "--format=%cI", rev)
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(when)))
	if err != nil {
		return fmt.Errorf("commit time of %s: %w", rev, err)
	}

	esc, err := module.EscapePath(m.path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(vdir, m.version)

	zf, err := os.Create(base + ".zip")
	if err != nil {
		return err
	}
	zerr := modzip.CreateFromDir(zf, module.Version{Path: m.path, Version: m.version}, filepath.Join(src, filepath.FromSlash(m.subdir)))
	if cerr := zf.Close(); zerr == nil {
		zerr = cerr
	}
	if zerr != nil {
		return fmt.Errorf("zip: %w", zerr)
	}
	if err := os.WriteFile(base+".mod", gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.version, t.UTC()})
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".info", info, 0o644); err != nil {
		return err
	}
	return addToList(filepath.Join(vdir, "list"), m.version)
}

// addToList adds version to the @v/list file unless it is there already.
func addToList(path, version string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, v := range strings.Fields(string(old)) {
		if v == version {
			return nil
		}
	}
	return os.WriteFile(path, append(old, version+"\n"...), 0o644)
}

func git(repo string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

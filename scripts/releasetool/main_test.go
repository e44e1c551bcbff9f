package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func runCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// A repository with a root module and a nested one, as this one is laid
// out: each zip holds its own module's committed files only.
func TestWriteModule(t *testing.T) {
	repo := t.TempDir()
	runCmd(t, repo, "git", "init", "-q")
	write(t, filepath.Join(repo, "go.mod"), "module example.com/Root\n\ngo 1.22\n")
	write(t, filepath.Join(repo, "root.go"), "package root\n")
	write(t, filepath.Join(repo, "sub", "go.mod"), "module example.com/Root/sub\n\ngo 1.22\n\nrequire example.com/Root v0.1.0\n\nreplace example.com/Root => ../\n")
	write(t, filepath.Join(repo, "sub", "sub.go"), "package sub\n")
	runCmd(t, repo, "git", "add", ".")
	runCmd(t, repo, "git", "commit", "-qm", "init")
	write(t, filepath.Join(repo, "uncommitted.go"), "package root\n")

	proxy, src := t.TempDir(), t.TempDir()
	if err := extract(repo, "HEAD", src); err != nil {
		t.Fatal(err)
	}
	for _, m := range []modSpec{
		{path: "example.com/Root", version: "v0.1.0"},
		{path: "example.com/Root/sub", subdir: "sub", version: "v0.1.0"},
	} {
		if err := writeModule(proxy, repo, "HEAD", src, m); err != nil {
			t.Fatal(err)
		}
	}
	// A second run leaves one entry per version in the list.
	if err := writeModule(proxy, repo, "HEAD", src, modSpec{path: "example.com/Root", version: "v0.1.0"}); err != nil {
		t.Fatal(err)
	}

	root := filepath.Join(proxy, "example.com", "!root", "@v") // escaped upper case
	list, err := os.ReadFile(filepath.Join(root, "list"))
	if err != nil || string(list) != "v0.1.0\n" {
		t.Fatalf("list = %q, %v", list, err)
	}
	info, err := os.ReadFile(filepath.Join(root, "v0.1.0.info"))
	if err != nil || !strings.Contains(string(info), `"Version":"v0.1.0"`) || !strings.Contains(string(info), `"Time":"`) {
		t.Fatalf("info = %s, %v", info, err)
	}
	got := zipNames(t, filepath.Join(root, "v0.1.0.zip"))
	want := []string{"example.com/Root@v0.1.0/go.mod", "example.com/Root@v0.1.0/root.go"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("root zip = %v, want %v (no nested module, nothing uncommitted)", got, want)
	}
	subMod, err := os.ReadFile(filepath.Join(proxy, "example.com", "!root", "sub", "@v", "v0.1.0.mod"))
	if err != nil || !strings.Contains(string(subMod), "require example.com/Root v0.1.0") {
		t.Fatalf("sub .mod = %s, %v", subMod, err)
	}

	if err := writeModule(proxy, repo, "HEAD", src, modSpec{path: "example.com/Other", subdir: "sub", version: "v0.1.0"}); err == nil {
		t.Fatal("a module path that does not match go.mod was accepted")
	}
}

func TestParseSpec(t *testing.T) {
	m, err := parseSpec("github.com/aponysus/rego/integrations/otel=integrations/otel/@v0.1.0")
	if err != nil || m.subdir != "integrations/otel" || m.version != "v0.1.0" {
		t.Fatalf("%+v %v", m, err)
	}
	if m, err := parseSpec("github.com/aponysus/rego=.@v0.1.0"); err != nil || m.subdir != "" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"x", "github.com/a/b=.", "github.com/a/b=.@0.1", "github.com/a/b=.@v0.1", "github.com/a/b=../x@v0.1.0"} {
		if _, err := parseSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add("github.com/aponysus/rego/integrations/otel=integrations/otel@v0.1.0")
	f.Add("github.com/aponysus/rego=.@v1.2.3")
	f.Add("x=y@v0.1")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseSpec(s)
		if err != nil {
			return
		}
		// What is accepted names a valid module version and a clean
		// relative directory.
		if m.path == "" || m.version == "" || strings.HasPrefix(m.subdir, "/") || strings.HasSuffix(m.subdir, "/") || m.subdir == "." ||
			(m.subdir != "" && !filepath.IsLocal(m.subdir)) {
			t.Fatalf("%q accepted as %+v", s, m)
		}
	})
}

package controlplane_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

var charge = policy.PolicyKey{Namespace: "payments", Name: "Charge"}

// expect checks that a lookup of payments.Charge got the policy of version
// (made by doc with attempts) from src, with or without an error.
func expect(t *testing.T, pr controlplane.PolicyProvider, version string, attempts int, src policy.PolicySource, wantErr bool) error {
	t.Helper()
	p, err := pr.GetEffectivePolicy(context.Background(), charge)
	if (err != nil) != wantErr {
		t.Fatalf("lookup error = %v, want error: %v", err, wantErr)
	}
	if p.Meta.Version != version || p.Retry.MaxAttempts != attempts || p.Meta.Source != src || !p.Meta.Normalized || p.Key != charge {
		t.Fatalf("lookup = version %q attempts %d source %q normalized %v key %v; want %q %d %q",
			p.Meta.Version, p.Retry.MaxAttempts, p.Meta.Source, p.Meta.Normalized, p.Key, version, attempts, src)
	}
	if v := pr.(controlplane.Versioned).Version(); v != version {
		t.Fatalf("Version() = %q, want %q", v, version)
	}
	return err
}

func newFile(t *testing.T, path string) *controlplane.FileProvider {
	t.Helper()
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	t.Cleanup(func() { fp.Close() })
	return fp
}

func TestFileProviderAtomicReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 4))
	fp := newFile(t, path)
	if err := fp.LastError(); err != nil {
		t.Fatal(err)
	}
	expect(t, fp, "v1", 4, policy.SourceFile, false)

	// Keys the document does not name get its default.
	p, err := fp.GetEffectivePolicy(context.Background(), policy.ParseKey("other.Call"))
	if err != nil || p.Retry.MaxAttempts != 1 || p.Key != policy.ParseKey("other.Call") {
		t.Fatalf("default: %+v %v", p, err)
	}

	writeFile(t, path, doc("v2", 6))
	if err := fp.Reload(); err != nil {
		t.Fatal(err)
	}
	expect(t, fp, "v2", 6, policy.SourceFile, false)
	if fp.Document().Version != "v2" {
		t.Fatal("Document() is not the one in force")
	}
}

// TestFileProviderSymlinkSwap replays how the kubelet updates a ConfigMap
// volume: each version lives in a directory of its own, "..data" links to
// the current one, and the file the program opens links through "..data".
// An update writes a new directory and renames a new "..data" link over the
// old one.
func TestFileProviderSymlinkSwap(t *testing.T) {
	mount := t.TempDir()
	version := func(dir, data string) {
		if err := os.Mkdir(filepath.Join(mount, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mount, dir, "policies.json"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(mount, "..data_tmp")
		if err := os.Symlink(dir, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(mount, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..2024_06_01_v1", doc("v1", 2))
	if err := os.Symlink(filepath.Join("..data", "policies.json"), filepath.Join(mount, "policies.json")); err != nil {
		t.Fatal(err)
	}
	fp := newFile(t, filepath.Join(mount, "policies.json"))
	expect(t, fp, "v1", 2, policy.SourceFile, false)

	version("..2024_06_02_v2", doc("v2", 7))
	if err := os.RemoveAll(filepath.Join(mount, "..2024_06_01_v1")); err != nil {
		t.Fatal(err)
	}
	if err := fp.Reload(); err != nil {
		t.Fatal(err)
	}
	expect(t, fp, "v2", 7, policy.SourceFile, false)
}

func TestFileProviderInvalidUpdateKeepsOld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 4))
	fp := newFile(t, path)

	writeFile(t, path, `{"version":"v2","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`)
	rerr := fp.Reload()
	if !errors.Is(rerr, policy.ErrInvalidDocument) {
		t.Fatalf("Reload: %v", rerr)
	}
	if !strings.Contains(rerr.Error(), `policies["payments.Charge"].retry.jitter`) {
		t.Fatalf("error does not name the field: %v", rerr)
	}
	// The last good document stays in force, marked as such, and every
	// lookup carries the reason so the timeline shows it.
	err := expect(t, fp, "v1", 4, policy.SourceLKG, true)
	var se *controlplane.StaleError
	if !errors.As(err, &se) || se.Version != "v1" || se.Source != path {
		t.Fatalf("lookup error %v, want *StaleError for v1", err)
	}
	if !errors.Is(err, controlplane.ErrProviderUnavailable) || !errors.Is(err, policy.ErrInvalidDocument) {
		t.Fatalf("lookup error %v does not match its sentinels", err)
	}
	if !errors.Is(fp.LastError(), policy.ErrInvalidDocument) {
		t.Fatalf("LastError = %v", fp.LastError())
	}
	// Polling the same bad content again changes nothing.
	if err := fp.Reload(); !errors.Is(err, policy.ErrInvalidDocument) {
		t.Fatalf("second Reload: %v", err)
	}

	// A deleted file is a failure too; the document stays.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := fp.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	expect(t, fp, "v1", 4, policy.SourceLKG, true)

	// Fixing the file ends the fallback.
	writeFile(t, path, doc("v3", 5))
	if err := fp.Reload(); err != nil {
		t.Fatal(err)
	}
	expect(t, fp, "v3", 5, policy.SourceFile, false)
	if fp.LastError() != nil {
		t.Fatal(fp.LastError())
	}
}

func TestFileProviderMissingAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	fp := newFile(t, path)
	p, err := fp.GetEffectivePolicy(context.Background(), charge)
	var ue *controlplane.UnavailableError
	if !p.IsZero() || !errors.As(err, &ue) || !errors.Is(err, controlplane.ErrProviderUnavailable) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lookup before any document = %+v, %v", p, err)
	}
	if fp.Version() != "" || fp.Document() != nil {
		t.Fatal("version without a document")
	}
	writeFile(t, path, doc("v1", 3))
	if err := fp.Reload(); err != nil {
		t.Fatal(err)
	}
	expect(t, fp, "v1", 3, policy.SourceFile, false)
}

func TestFileProviderInvalidAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, `{"version":"v1","policies":{"payments.Charge":{"retry":{"max_attempts":"three"}}}}`)
	fp := newFile(t, path)
	p, err := fp.GetEffectivePolicy(context.Background(), charge)
	if !p.IsZero() || !errors.Is(err, controlplane.ErrProviderUnavailable) || !errors.Is(err, policy.ErrInvalidDocument) {
		t.Fatalf("lookup = %+v, %v", p, err)
	}
}

func TestFileProviderTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 3))
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1, MaxBytes: 20})
	defer fp.Close()
	var tl *controlplane.TooLargeError
	if err := fp.LastError(); !errors.As(err, &tl) || tl.Limit != 20 {
		t.Fatalf("LastError = %v", err)
	}
}

func TestFileProviderPolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 3))
	clk := regotest.NewClock(time.Time{})
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: time.Minute, Clock: clk})
	defer fp.Close()
	expect(t, fp, "v1", 3, policy.SourceFile, false)

	clk.BlockUntil(1) // the poller waits for its first tick
	writeFile(t, path, doc("v2", 8))
	clk.Advance(59 * time.Second)
	expect(t, fp, "v1", 3, policy.SourceFile, false)
	clk.Advance(time.Second)
	clk.BlockUntil(1) // the poller reloaded and waits again
	expect(t, fp, "v2", 8, policy.SourceFile, false)

	fp.Close()
	fp.Close() // idempotent
	if clk.Pending() != 0 {
		t.Fatalf("%d timers left after Close", clk.Pending())
	}
}

func TestFileProviderNeedsPath(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "controlplane: ") {
			t.Fatalf("panic = %v", r)
		}
	}()
	controlplane.NewFileProvider(controlplane.FileOptions{})
}

package controlplane_test

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

func TestOpenFileProviderFailsWithoutADocument(t *testing.T) {
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid.json")
	writeFile(t, invalid, `{"version":"v1","policies":{"a.b":{"retry":{"jitter":"wobbly"}}}}`)
	big := filepath.Join(dir, "big.json")
	writeFile(t, big, doc("v1", 3))
	for _, tc := range []struct {
		name string
		opts controlplane.FileOptions
		is   func(error) bool
	}{
		{"missing", controlplane.FileOptions{Path: filepath.Join(dir, "none.json")}, func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{"invalid", controlplane.FileOptions{Path: invalid}, func(err error) bool {
			var de *policy.DocumentError
			return errors.As(err, &de) && errors.Is(err, policy.ErrInvalidDocument)
		}},
		{"too large", controlplane.FileOptions{Path: big, MaxBytes: 10}, func(err error) bool {
			var tl *controlplane.TooLargeError
			return errors.As(err, &tl)
		}},
		{"no path", controlplane.FileOptions{}, func(err error) bool { return strings.Contains(err.Error(), "FileOptions.Path") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := controlplane.OpenFileProvider(tc.opts)
			if fp != nil || err == nil || !tc.is(err) || !strings.HasPrefix(err.Error(), "controlplane: ") {
				t.Fatalf("OpenFileProvider = %v, %v", fp, err)
			}
		})
	}
}

func TestOpenFileProvider(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 3))
	fp, err := controlplane.OpenFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	expect(t, fp, "v1", 3, policy.SourceFile, false)
	// Later failures keep the last good document, as with NewFileProvider.
	writeFile(t, path, `{`)
	if fp.Reload() == nil {
		t.Fatal("broken document loaded")
	}
	expect(t, fp, "v1", 3, policy.SourceLKG, true)
}

// Without OnError or an Observer, a first load that fails is logged.
func TestNewFileProviderFirstFailureIsLoud(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(prev)

	path := filepath.Join(t.TempDir(), "policies.json")
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	fp.Close()
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, path) {
		t.Fatalf("log = %q", out)
	}

	// With OnError set, the failure goes there instead.
	buf.Reset()
	var got error
	fp = controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1, OnError: func(err error) { got = err }})
	fp.Close()
	if buf.Len() != 0 || !errors.Is(got, fs.ErrNotExist) {
		t.Fatalf("log %q, OnError %v", buf.String(), got)
	}
}

func TestFileProviderEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 3))
	var evs events
	var reported int
	fp := controlplane.NewFileProvider(controlplane.FileOptions{
		Path: path, Interval: -1, Observer: &evs, OnError: func(error) { reported++ },
	})
	defer fp.Close()
	writeFile(t, path, `{"version":"v2","policies":{"a.b":{"retry":{"jitter":"wobbly"}}}}`)
	for i := 0; i < 3; i++ { // reported once, not once per poll
		if !errors.Is(fp.Reload(), policy.ErrInvalidDocument) {
			t.Fatal("invalid document accepted")
		}
	}
	if ev := evs.last(); ev.Kind != observe.EventPolicyReloadFailed || !errors.Is(ev.Err, policy.ErrInvalidDocument) || ev.Time.IsZero() {
		t.Fatalf("event %+v", ev)
	}
	writeFile(t, path, doc("v3", 5))
	if err := fp.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(evs.list(), " "); got != "policy_reload/v1 policy_reload_failed/v1 policy_reload/v3" || reported != 1 {
		t.Fatalf("events %s, OnError %d", got, reported)
	}
	if s := fp.Stats(); s.Loads != 2 || s.Failures != 1 || s.LastLoad.IsZero() {
		t.Fatalf("stats %+v", s)
	}
}

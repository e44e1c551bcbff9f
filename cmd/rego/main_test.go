package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeDoc(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	good := writeDoc(t, `{"version":"v1","policies":{"payments.Charge":{"retry":{"max_attempts":50}}}}`)
	code, out, _ := runCmd(t, "validate", good)
	if code != 0 || !strings.Contains(out, `ok: version "v1", 1 policies`) || !strings.Contains(out, `warning: policies["payments.Charge"].retry.max_attempts`) {
		t.Fatalf("code %d\n%s", code, out)
	}
	for field, body := range map[string]string{
		"jitter": `{"version":"v1","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`,
		"bogus":  `{"version":"v1","policies":{"payments.Charge":{"retry":{"bogus":1}}}}`,
	} {
		code, out, _ = runCmd(t, "validate", writeDoc(t, body))
		if code != 1 || !strings.Contains(out, `policies["payments.Charge"].retry.`+field) {
			t.Fatalf("%s: code %d\n%s", field, code, out)
		}
	}
	if code, _, _ := runCmd(t, "validate", filepath.Join(t.TempDir(), "missing.json")); code != 1 {
		t.Fatalf("missing file: code %d", code)
	}
}

func TestSimulate(t *testing.T) {
	doc := writeDoc(t, `{"version":"v1","policies":{"payments.Charge":{"retry":{"max_attempts":3}}}}`)
	code, out, errs := runCmd(t, "simulate", "-doc", doc, "-key", "payments.Charge", "-duration", "10s", "-rate", "200", "-outage", "10s")
	if code != 0 || !strings.Contains(out, "2.9") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCmd(t, "simulate", "-key", "payments.Charge", "-duration", "30s", "-rate", "1000", "-outage", "30s", "-budget", "ratio")
	if code != 0 || !strings.Contains(out, "1.1") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCmd(t, "simulate", "-budget", "magic"); code != 2 {
		t.Fatalf("bad budget: code %d", code)
	}
	if code, _, _ := runCmd(t, "simulate", "-failure", "2"); code != 2 {
		t.Fatalf("bad failure: code %d", code)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errs := runCmd(t); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatal(code, errs)
	}
	if code, _, _ := runCmd(t, "frobnicate"); code != 2 {
		t.Fatal(code)
	}
}

// TestReadmeCommands runs the README's command-line examples on the
// example document.
func TestReadmeCommands(t *testing.T) {
	doc := filepath.Join("..", "..", "examples", "policies", "payments.json")
	if code, out, errs := runCmd(t, "validate", doc); code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("validate: %d %s %s", code, out, errs)
	}
	code, out, errs := runCmd(t, "simulate", "-doc", doc, "-key", "payments.Charge", "-outage", "30s", "-budget", "ratio")
	if code != 0 || !strings.Contains(out, "1.100x") {
		t.Fatalf("simulate: %d %s %s", code, out, errs)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

func TestUsage(t *testing.T) {
	if code, _, errs := runCmd(t); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatal(code, errs)
	}
	if code, _, _ := runCmd(t, "frobnicate"); code != 2 {
		t.Fatal(code)
	}
	for _, h := range []string{"help", "-h", "--help"} {
		if code, out, _ := runCmd(t, h); code != 0 || !strings.Contains(out, "diff") {
			t.Fatal(h, code, out)
		}
	}
}

// TestHelpOnEveryCommand: -h, -help and --help print the command's usage on
// stdout and exit 0, wherever they appear; they never name a file.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range []string{"validate", "diff", "simulate", "schema"} {
		for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"some.json", "-h"}, {"-strict", "--help"}} {
			code, out, errs := runCmd(t, append([]string{cmd}, args...)...)
			if code != 0 || !strings.HasPrefix(out, "usage: rego "+cmd) || errs != "" {
				t.Errorf("rego %s %v: code %d\nstdout %s\nstderr %s", cmd, args, code, out, errs)
			}
		}
	}
	// After "--", -h is a file name.
	code, out, _ := runCmd(t, "validate", "--", "-h")
	if code != 1 || strings.Contains(out, "usage") {
		t.Errorf("validate -- -h: %d %s", code, out)
	}
}

// TestFlagErrorsNameFlags: a bad value is reported with the flag's name,
// with exit status 2.
func TestFlagErrorsNameFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "-rate", "-5"}, "-rate must be a positive number"},
		{[]string{"simulate", "-rate", "0"}, "-rate must be a positive number"},
		{[]string{"simulate", "-duration", "-1s"}, "-duration must be positive"},
		{[]string{"simulate", "-failure", "2"}, "-failure must be in [0, 1]"},
		{[]string{"simulate", "-clients", "0"}, "-clients must be at least 1"},
		{[]string{"simulate", "-outage", "-1s"}, "-outage must not be negative"},
		{[]string{"simulate", "-retry-after", "-1s"}, "-retry-after must not be negative"},
		{[]string{"simulate", "-budget", "magic"}, "-budget must be none, token, ratio or throttle"},
		{[]string{"simulate", "-budget", "ratio", "-ratio", "-1"}, "-ratio must be in (0, 1000]"},
		{[]string{"simulate", "-budget", "throttle", "-k", "0.5"}, "-k must be in [1, 1000]"},
		{[]string{"simulate", "-budget", "token", "-tokens", "-1"}, "-tokens must not be negative"},
		{[]string{"simulate", "-budget", "ratio", "-window", "-1s"}, "-window must be at least"},
		{[]string{"simulate", "-compare", "x.json"}, "-compare needs -doc"},
		{[]string{"simulate", "-rate", "fast"}, `invalid value "fast" for flag -rate`},
		{[]string{"simulate", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"simulate", "doc.json"}, "takes no arguments"},
		{[]string{"validate"}, "no files"},
		{[]string{"diff", "a.json"}, "want two documents"},
		{[]string{"diff", "-deadline", "-1s", "a", "b"}, "-deadline must not be negative"},
		{[]string{"schema", "x"}, "takes no arguments"},
	} {
		code, _, errs := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Contains(errs, "Rate must") {
			t.Errorf("%v: code %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := writeDoc(t, `{"version":"v1","policies":{"payments.Charge":{"retry":{"max_attempts":50}}}}`)
	code, out, _ := runCmd(t, "validate", good)
	if code != 0 || !strings.Contains(out, `ok: version "v1", 1 policies, no default, 1 warning`) ||
		!strings.Contains(out, `warning: policies["payments.Charge"].retry.max_attempts: out of range (got 50), clamped to 10`) {
		t.Fatalf("code %d\n%s", code, out)
	}
	// -strict fails on the warning.
	code, out, _ = runCmd(t, "validate", "-strict", good)
	if code != 1 || !strings.Contains(out, "fails -strict: 1 warning") {
		t.Fatalf("strict: code %d\n%s", code, out)
	}
	for field, body := range map[string]string{
		"jitter": `{"version":"v1","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`,
		"bogus":  `{"version":"v1","policies":{"payments.Charge":{"retry":{"bogus":1}}}}`,
	} {
		code, out, _ = runCmd(t, "validate", writeDoc(t, body))
		if code != 1 || !strings.Contains(out, `policies["payments.Charge"].retry.`+field) || !strings.Contains(out, "invalid: 1 error") {
			t.Fatalf("%s: code %d\n%s", field, code, out)
		}
	}
	if code, _, errs := runCmd(t, "validate", filepath.Join(t.TempDir(), "missing.json")); code != 1 || !strings.Contains(errs, "missing.json") {
		t.Fatalf("missing file: code %d %s", code, errs)
	}
}

// TestValidateBadDocuments runs the documents an operator got through
// validate unnoticed: each is now an error (exit 1), naming its path.
func TestValidateBadDocuments(t *testing.T) {
	for _, c := range []struct{ policy, want string }{
		{`{"retry":{"max_attempts":1000}}`, `retry.max_attempts: far out of range (got 1000, at most 10)`},
		{`{"retry":{"initial_backoff":"-5ms"}}`, `retry.initial_backoff: must not be negative (got -5ms)`},
		{`{"retry":{"max_backoff":"-1s"}}`, `retry.max_backoff: must not be negative (got -1s)`},
		{`{"circuit":{"enabled":true,"failure_threshold":-1}}`, `circuit.failure_threshold: must not be negative (got -1)`},
		{`{"retry":{"jitter":"decorelated"}}`, `retry.jitter: unknown jitter kind (want none, full, equal or decorrelated); did you mean "decorrelated"?`},
	} {
		f := writeDoc(t, `{"version":"v1","policies":{"a.b":`+c.policy+`}}`)
		code, out, _ := runCmd(t, "validate", f)
		if code != 1 || !strings.Contains(out, f+`: policies["a.b"].`+c.want) {
			t.Errorf("%s: code %d\n%s", c.policy, code, out)
		}
	}
	// Warnings: the document loads, and -strict fails it.
	for _, c := range []struct{ policy, want string }{
		{`{"hedge":{"enabled":true,"trigger":"p955"}}`, `hedge.trigger: "p955" is not a built-in hedge trigger`},
		{`{"hedge":{"delay":"0s"}}`, `hedge.delay: 0s means the default (50ms)`},
		{`{"retry":{"timeout_per_attempt":"2s","overall_timeout":"1s"}}`, `retry.overall_timeout: 1s is shorter than retry.timeout_per_attempt (2s)`},
	} {
		f := writeDoc(t, `{"version":"v1","policies":{"a.b":`+c.policy+`}}`)
		code, out, _ := runCmd(t, "validate", f)
		if code != 0 || !strings.Contains(out, `warning: policies["a.b"].`+c.want) {
			t.Errorf("%s: code %d\n%s", c.policy, code, out)
		}
		if code, _, _ := runCmd(t, "validate", "-strict", f); code != 1 {
			t.Errorf("%s: -strict code %d", c.policy, code)
		}
	}
}

// TestValidateDocsSample runs validate on the sample of docs/policies.md:
// it prints the documented problems, one a line, and exits 1.
func TestValidateDocsSample(t *testing.T) {
	b, err := os.ReadFile("../../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	f := writeDoc(t, docBlock(t, string(b), "<!-- sample: bad document -->"))
	code, out, _ := runCmd(t, "validate", f)
	var want strings.Builder
	for _, l := range strings.Split(docBlock(t, string(b), "<!-- sample: problems -->"), "\n") {
		want.WriteString(f + ": " + l + "\n")
	}
	want.WriteString(f + ": invalid: 5 errors\n")
	if code != 1 || out != want.String() {
		t.Fatalf("code %d\n got %s\nwant %s", code, out, want.String())
	}
}

// docBlock returns the body of the fenced block after marker in doc.
func docBlock(t *testing.T, doc, marker string) string {
	t.Helper()
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("no %s", marker)
	}
	rest := doc[i+len(marker):]
	start := strings.Index(rest, "```")
	start += strings.Index(rest[start:], "\n") + 1
	end := strings.Index(rest[start:], "```")
	return strings.TrimSuffix(rest[start:start+end], "\n")
}

func TestValidateRegisteredNames(t *testing.T) {
	f := writeDoc(t, `{"version":"v1","default":{"retry":{"budget":{"name":"paymnets"}},"gates":[{"name":"quota"}]}}`)
	code, out, _ := runCmd(t, "validate", "-budgets", "payments, hedges", "-gates", "quota", f)
	if code != 1 || !strings.Contains(out, `default.retry.budget.name: budget "paymnets" is not registered (the program registers "hedges", "payments"); did you mean "payments"?`) {
		t.Fatalf("code %d\n%s", code, out)
	}
	// Without the lists, names are not checked.
	if code, out, _ := runCmd(t, "validate", f); code != 0 {
		t.Fatalf("code %d\n%s", code, out)
	}
	// An empty list: the program registers no gate.
	code, out, _ = runCmd(t, "validate", "-gates=", f)
	if code != 1 || !strings.Contains(out, `gate "quota" is not registered (the program registers none)`) {
		t.Fatalf("code %d\n%s", code, out)
	}
}

func TestSimulate(t *testing.T) {
	doc := writeDoc(t, `{"version":"v1","policies":{"payments.Charge":{"retry":{"max_attempts":3}},
		"search.Query":{"hedge":{"enabled":true},"circuit":{"enabled":true},"retry":{"overall_timeout":"2s"}}}}`)
	code, out, errs := runCmd(t, "simulate", "-doc", doc, "-key", "payments.Charge", "-duration", "10s", "-rate", "200", "-outage", "10s")
	if code != 0 || !strings.Contains(out, "2.9") || !strings.Contains(out, "per-attempt timeout none, overall timeout none") ||
		!strings.Contains(out, "budget: none") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCmd(t, "simulate", "-key", "payments.Charge", "-duration", "30s", "-rate", "1000", "-outage", "30s", "-budget", "ratio")
	if code != 0 || !strings.Contains(out, "1.1") || !strings.Contains(out, "built-in default policy") ||
		!strings.Contains(out, "budget: ratio: retries up to 0.1 of first attempts, at least 10 retries/s, over 10s") {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	// The budget's parameters are flags, and the output shows them.
	code, out, _ = runCmd(t, "simulate", "-duration", "5s", "-outage", "5s", "-budget", "ratio", "-ratio", "0.5", "-min-retries", "0", "-window", "5s")
	if code != 0 || !strings.Contains(out, "retries up to 0.5 of first attempts, at least 0 retries/s, over 5s") || !strings.Contains(out, "1.49") {
		t.Fatalf("code %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "simulate", "-duration", "2s", "-budget", "token", "-tokens", "7", "-refill", "2")
	if code != 0 || !strings.Contains(out, "token bucket of 7 tokens, refilled at 2/s") {
		t.Fatalf("code %d\n%s", code, out)
	}
	// Hedging and the breaker run as in the executor: a breaker of 5
	// consecutive failures opens against 30% failing.
	code, out, _ = runCmd(t, "simulate", "-doc", doc, "-key", "search.Query", "-duration", "2s")
	if code != 0 || !strings.Contains(out, "overall timeout 2s, hedging up to 1 hedge after 50ms, circuit breaker opens after 5 consecutive failures, cooldown 5s") ||
		!regexp.MustCompile(`refused: 0 attempts by the budget, [1-9][0-9]+ by the breaker, 0 by other gates; [1-9][0-9]+ calls refused outright`).MatchString(out) {
		t.Fatalf("code %d\n%s", code, out)
	}
	hedged := writeDoc(t, `{"version":"v1","policies":{"a.b":{"hedge":{"enabled":true,"delay":"20ms"}}}}`)
	code, out, _ = runCmd(t, "simulate", "-doc", hedged, "-key", "a.b", "-duration", "5s", "-failure", "0")
	// Exponential latencies of mean 10ms: e^-2, about 13.5% of the calls,
	// are still out at 20ms and get a hedge.
	if m := regexp.MustCompile(`hedges (\d+)`).FindStringSubmatch(out); code != 0 || m == nil || !between(m[1], 600, 780) {
		t.Fatalf("code %d\n%s", code, out)
	}
	// What a simulation cannot do as a program would is said, not
	// silently ignored.
	odd := writeDoc(t, `{"version":"v1","policies":{"a.b":{"retry":{"budget":{"name":"retries"},"classifier":"http"},
		"gates":[{"name":"quota"}],"bulkhead":{"enabled":true,"max_wait":"1s"}}}}`)
	code, out, _ = runCmd(t, "simulate", "-doc", odd, "-key", "a.b", "-duration", "1s")
	for _, want := range []string{
		"lets attempts wait at the bulkhead (max_wait 1s); an attempt cannot wait on virtual time: simulated refusing at once",
		`names user gate "quota"; no program registers it here: admits every attempt (gate_not_found)`,
		`names classifier "http"; the simulator's own judges the attempts`,
		`names budget "retries"; with -budget none it is missing: it admits every attempt (budget_not_found)`,
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A budget the policy names is the budget of -budget.
	code, out, _ = runCmd(t, "simulate", "-doc", odd, "-key", "a.b", "-duration", "5s", "-outage", "5s", "-budget", "token", "-tokens", "10", "-refill", "0")
	if code != 0 || !strings.Contains(out, `names budget "retries": in each client it is a budget made by -budget`) ||
		!strings.Contains(out, "retries 10;") {
		t.Fatalf("code %d\n%s", code, out)
	}
	// Retry-After replaces the backoff: an hour's hint leaves no retry
	// within the run.
	code, out, _ = runCmd(t, "simulate", "-duration", "2s", "-outage", "2s", "-retry-after", "1h")
	if code != 0 || !strings.Contains(out, "with Retry-After 1h0m0s") || !strings.Contains(out, "1.000x the offered load") {
		t.Fatalf("code %d\n%s", code, out)
	}
	// A key the document does not name is rejected, with a suggestion.
	code, _, errs = runCmd(t, "simulate", "-doc", doc, "-key", "payments.Chrage")
	if code != 2 || !strings.Contains(errs, `-key payments.Chrage is not in`) || !strings.Contains(errs, `did you mean "payments.Charge"?`) {
		t.Fatalf("unknown key: code %d %s", code, errs)
	}
	// Without -key, the document's default policy; none here.
	code, _, errs = runCmd(t, "simulate", "-doc", doc)
	if code != 2 || !strings.Contains(errs, "has no default policy") {
		t.Fatalf("no default: code %d %s", code, errs)
	}
	bad := writeDoc(t, `{"version":"v1","policies":{"a.b":{"retry":{"max_attempts":-1}}}}`)
	if code, _, errs := runCmd(t, "simulate", "-doc", bad, "-key", "a.b"); code != 1 || !strings.Contains(errs, "must not be negative") {
		t.Fatalf("bad document: code %d %s", code, errs)
	}
}

func TestSimulateCompare(t *testing.T) {
	old := writeDoc(t, `{"version":"v1","default":{"retry":{"max_attempts":2}},"policies":{"a.b":{"retry":{"max_attempts":2}}}}`)
	new := writeDoc(t, `{"version":"v2","default":{"retry":{"max_attempts":5}}}`)
	code, out, errs := runCmd(t, "simulate", "-doc", old, "-compare", new, "-key", "a.b", "-duration", "5s", "-outage", "5s")
	if code != 0 {
		t.Fatalf("code %d %s", code, errs)
	}
	for _, want := range []string{
		"(the document's default)",
		"max attempts            2 ",
		"hedging                 off ",
		"refused by the breaker  0 ",
		"load                    1.98", // two attempts, the second mostly inside the outage
		"4.70",                         // five attempts, the later ones past it
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A key neither document names is rejected.
	if code, _, _ := runCmd(t, "simulate", "-doc", old, "-compare", new, "-key", "x.y"); code != 2 {
		t.Fatalf("code %d", code)
	}
}

func TestDiff(t *testing.T) {
	old := writeDoc(t, `{"version":"v1","default":{},"policies":{
		"a.b":{"retry":{"max_attempts":3,"overall_timeout":"2s","budget":{"name":"b"}},"circuit":{"enabled":true},
		       "gates":[{"name":"quota"},{"name":"trial","shadow":true}],"bulkhead":{"enabled":true}},
		"c.d":{"retry":{"max_attempts":2}},
		"e.f":{}}}`)
	new := writeDoc(t, `{"version":"v2","policies":{
		"a.b":{"retry":{"max_attempts":5,"max_backoff":"0s","overall_timeout":"10s","budget":{"name":"b","shadow":true}},"circuit":{"enabled":false},
		       "rate_limit":{"enabled":true,"shadow":true},"bulkhead":{"enabled":true,"shadow":true}},
		"c.d":{"retry":{"max_attempts":2}},
		"g.h":{"retry":{"max_attempts":2}}}}`)
	code, out, errs := runCmd(t, "diff", "-deadline", "5s", old, new)
	if code != 1 {
		t.Fatalf("code %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"retry.max_attempts: 3 -> 5  RISKY: more attempts per call",
		"retry.overall_timeout: 2s -> 10s  RISKY: longer than the callers' deadline (5s)",
		"retry.budget.shadow: false -> true  RISKY: budget no longer enforced",
		"circuit.enabled: true -> false  RISKY: the circuit breaker turned off",
		"bulkhead.shadow: false -> true  RISKY: the bulkhead no longer enforced",
		"rate_limit.shadow: false -> true\n", // a new limit in shadow is no risk
		`gates: ["quota", "trial" (shadow)] -> []  RISKY: gate "quota" removed`,
		"e.f (removed; NEW has no policy for it):\n  no policy any more: calls follow the executor's MissingPolicyMode  RISKY",
		"g.h (new key; OLD gave it the default policy):",
		"(default):\n  no policy any more",
		"4 keys changed, 1 unchanged; 8 risky changes",
		"has 1 warning (rego validate",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "c.d") {
		t.Errorf("an unchanged key is listed:\n%s", out)
	}
	// Same document: nothing changes, exit 0. Safe changes only: exit 0.
	if code, out, _ := runCmd(t, "diff", old, old); code != 0 || !strings.Contains(out, "0 keys changed, 4 unchanged; 0 risky changes") {
		t.Fatalf("same: %d\n%s", code, out)
	}
	safer := writeDoc(t, `{"version":"v3","default":{},"policies":{
		"a.b":{"retry":{"max_attempts":2,"overall_timeout":"1s","budget":{"name":"b"}},"circuit":{"enabled":true},
		       "gates":[{"name":"quota"}],"bulkhead":{"enabled":true}},
		"c.d":{"retry":{"max_attempts":2}},"e.f":{}}}`)
	if code, out, _ := runCmd(t, "diff", "-deadline", "5s", old, safer); code != 0 || !strings.Contains(out, "1 key changed") {
		t.Fatalf("safer: %d\n%s", code, out)
	}
	// A document that does not load: exit 2, with its problems.
	bad := writeDoc(t, `{"version":"v1","policies":{"a.b":{"retry":{"jitter":"x"}}}}`)
	if code, _, errs := runCmd(t, "diff", old, bad); code != 2 || !strings.Contains(errs, "retry.jitter") {
		t.Fatalf("bad: %d %s", code, errs)
	}
}

func TestSchemaCommand(t *testing.T) {
	code, out, _ := runCmd(t, "schema")
	want, err := os.ReadFile("../../docs/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != string(want) {
		t.Fatalf("rego schema differs from docs/policy.schema.json (code %d)", code)
	}
}

// TestReadmeCommands runs every command of the README's command-line
// section from the repository's root, checks the exit status its comment
// gives (0 when none), and checks the diff output the README shows.
func TestReadmeCommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	section := readme[strings.Index(readme, "## Command line"):]
	section = section[:strings.Index(section, "\n## ")]
	cmds := docBlock(t, section, "<!-- commands:")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	exitRe := regexp.MustCompile(`#\s*exits (\d+)`)
	n := 0
	for _, line := range strings.Split(cmds, "\n") {
		cmd, comment, _ := strings.Cut(line, "#")
		args := strings.Fields(cmd)
		if len(args) < 3 || args[0] != "go" || args[1] != "run" || args[2] != "./cmd/rego" {
			t.Fatalf("not a rego command: %q", line)
		}
		want := 0
		if m := exitRe.FindStringSubmatch("#" + comment); m != nil {
			want, _ = strconv.Atoi(m[1])
		}
		code, out, errs := runCmd(t, args[3:]...)
		if code != want {
			t.Errorf("%s: exit %d, want %d\n%s%s", line, code, want, out, errs)
		}
		if args[3] == "diff" {
			if doc := docBlock(t, section, "<!-- output of the diff above -->"); strings.TrimSuffix(out, "\n") != doc {
				t.Errorf("diff prints\n%s\nthe README shows\n%s", out, doc)
			}
		}
		if strings.Contains(line, "-outage 30s -budget ratio") && !strings.Contains(out, "1.100x the offered load") {
			t.Errorf("%s: a ratio budget keeps the load at 1.1x\n%s", line, out)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d commands found", n)
	}
}

// between reports whether the decimal s is in [lo, hi].
func between(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= lo && n <= hi
}

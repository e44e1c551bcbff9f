package regoredis_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

const docPath = "../../docs/redis.md"

// docs/redis.md shows the reasons the gates record, and a setup snippet that
// ExampleNewFleetBudget compiles: both must stay true of the code.
func TestDocs(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if os.IsNotExist(err) && testing.Short() {
		// A consumer's copy of the module (the release dry run tests it
		// with -short) has no docs/ beside it.
		t.Skip("docs/redis.md is not beside this copy of the module")
	}
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	reasons := map[string]bool{}
	for _, r := range []string{
		regoredis.ReasonFailOpen, regoredis.ReasonFailClosed, regoredis.ReasonFallbackFirstAttempt,
		regoredis.ReasonLocalWithinRatio, regoredis.ReasonLocalRatioExceeded,
		regoredis.ReasonLocalAdmitted, regoredis.ReasonLocalRateLimited,
	} {
		reasons[r] = true
		if !strings.HasPrefix(r, regoredis.ReasonUnavailablePrefix) {
			t.Errorf("reason %q lacks the prefix", r)
		}
		if !strings.Contains(doc, "`"+r+"`") {
			t.Errorf("%s does not show the reason %q", docPath, r)
		}
	}
	for _, m := range regexp.MustCompile("redis_unavailable_[a-z_]+").FindAllString(doc, -1) {
		if !reasons[m] && m != regoredis.ReasonUnavailablePrefix {
			t.Errorf("%s shows %q, which no gate records", docPath, m)
		}
	}
	for _, s := range []string{"`" + regoredis.GateBudget + "`", "`" + regoredis.GateLimiter + "`",
		"`" + regoredis.ReasonRateLimited + "`", "5ms", "`rego:budget:NAME`", "`rego:limit:NAME`"} {
		if !strings.Contains(doc, s) {
			t.Errorf("%s does not mention %s", docPath, s)
		}
	}
	if regoredis.DefaultTimeout.String() != "5ms" || regoredis.DefaultPrefix != "rego:" {
		t.Errorf("the documented defaults changed: %v %q", regoredis.DefaultTimeout, regoredis.DefaultPrefix)
	}

	// The setup snippet is the body of ExampleNewFleetBudget.
	_, rest, ok := strings.Cut(doc, "```go\n")
	snippet, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("%s has no Go snippet", docPath)
	}
	ex, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(ex), "func ExampleNewFleetBudget() {\n")
	body, _, _ = strings.Cut(body, "\n}\n")
	if dedent(body) != strings.TrimSpace(snippet) {
		t.Errorf("the setup snippet of %s differs from ExampleNewFleetBudget:\n%s\n---\n%s", docPath, snippet, body)
	}
}

// dedent removes one tab from the start of each line of a function body.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

package retry_test

import (
	"os"
	"strings"
	"testing"
)

// TestExtendingGateSnippet keeps the gate shown in docs/extending.md the
// one Example_gate runs.
func TestExtendingGateSnippet(t *testing.T) {
	doc, err := os.ReadFile("../docs/extending.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_gate_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## A gate\n")
	if !ok {
		t.Fatal(`docs/extending.md has no "## A gate" section`)
	}
	_, code, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("the gate section has no Go snippet")
	}
	code, _, _ = strings.Cut(code, "```")
	if len(code) < 500 || !strings.Contains(string(src), code) {
		t.Fatalf("the snippet in docs/extending.md is not the code of Example_gate:\n%s", code)
	}
}

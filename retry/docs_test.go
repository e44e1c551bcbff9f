package retry_test

import (
	"testing"

	"github.com/aponysus/rego/internal/doctest"
)

// TestExtendingGateSnippet keeps the gate shown in docs/extending.md the
// one Example_gate runs.
func TestExtendingGateSnippet(t *testing.T) {
	doctest.Snippet(t, "../docs/extending.md", "## A gate\n", "example_gate_test.go", 500)
}

package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestDemoRuns runs the example's loopback demonstration (what main does
// without -dir), so that it cannot rot.
func TestDemoRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	if err := demo(); err != nil {
		t.Fatal(err)
	}
}

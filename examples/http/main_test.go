package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMainRuns runs the example as a newcomer would, so that it cannot rot.
func TestMainRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	main()
}

//go:build race

package sim_test

import "testing"

// The race detector slows the event loop about tenfold, and the
// simulation is single-threaded: the tests that regenerate the published
// tables (minutes of virtual time, hundreds of thousands of calls) run
// without it, and the cross-check runs fewer calls.
const raceEnabled = true

func skipTableUnderRace(t *testing.T) {
	t.Helper()
	t.Skip("the published tables are measured and checked without -race (go test ./sim/)")
}

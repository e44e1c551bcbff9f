//go:build race

package hedge_test

// The race detector slows the event loop about fiftyfold: the tail-at-scale
// simulation then runs a shorter stream and only the configurations it
// asserts on.
const raceEnabled = true

//go:build !race

package sim_test

import "testing"

const raceEnabled = false

func skipTableUnderRace(*testing.T) {}

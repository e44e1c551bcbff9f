// Package controlplane is where policies come from.
//
// A PolicyProvider resolves the EffectivePolicy for a key. StaticProvider
// serves policies from code. Providers normalise each policy once, when it
// is loaded, never once per call, and the executor's hot path reads
// immutable snapshots without locks.
package controlplane

// Package regotest holds what users need to test code that runs through
// rego: a virtual clock, a seeded random source and scripted faults.
//
// Tests that use Clock never sleep: they advance time explicitly (Advance)
// or let the clock jump to every timer it makes (NewAutoClock).
package regotest

package policy

import (
	"strconv"
	"strings"
)

// Change is one field whose value differs between two policies.
type Change struct {
	// Path is the field's JSON path in a policy ("retry.max_attempts").
	Path string
	// Old and New are the values: numbers as a document writes them (3,
	// 1.5), durations as duration strings (100ms), a zero that means off
	// as the field's word for it (none, off), booleans, strings quoted
	// ("full"), and the gates list as ["quota", "canary" (shadow)].
	Old, New string
}

// Diff lists the fields whose values differ between old and new, in the
// order of the field table (the order of docs/policies.md). The key, the
// ID's absence and the metadata are not compared: only what a document
// sets. Compare normalised policies, so that a default left out and the
// same value written out are equal.
func Diff(old, new EffectivePolicy) []Change {
	var out []Change
	walk(policyFields, func(f *field[EffectivePolicy]) {
		var a, b string
		if f.kind == kindGates {
			a, b = formatGates(old.Gates), formatGates(new.Gates)
		} else {
			a, b = f.format(&old), f.format(&new)
		}
		if a != b {
			out = append(out, Change{Path: f.path, Old: a, New: b})
		}
	})
	return out
}

func formatGates(gs []GateRef) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = strconv.Quote(g.Name)
		if g.Shadow {
			parts[i] += " (shadow)"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

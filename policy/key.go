package policy

import "strings"

// PolicyKey names a call site. Keys must be low-cardinality: never embed
// request-scoped values (user, tenant or request IDs) in them.
type PolicyKey struct {
	Namespace string
	Name      string
}

// ParseKey splits s at the first dot after trimming surrounding spaces:
// "a.b.c" gives {Namespace: "a", Name: "b.c"}. Without a dot, all of s is
// the Name.
func ParseKey(s string) PolicyKey {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return PolicyKey{Namespace: s[:i], Name: s[i+1:]}
	}
	return PolicyKey{Name: s}
}

// String returns "namespace.name", or just the name when the namespace is
// empty. ParseKey(k.String()) == k for every key whose namespace holds no
// dot, whose parts have no surrounding spaces, and, when the namespace is
// empty, whose name holds no dot; other keys (which ParseKey never makes
// from a well-formed string) do not survive the trip.
func (k PolicyKey) String() string {
	if k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "." + k.Name
}

// IsZero reports whether k is the zero key.
func (k PolicyKey) IsZero() bool { return k.Namespace == "" && k.Name == "" }

// MarshalText encodes the key as k.String(), so keys can be JSON map keys.
func (k PolicyKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses the key with ParseKey.
func (k *PolicyKey) UnmarshalText(b []byte) error {
	*k = ParseKey(string(b))
	return nil
}

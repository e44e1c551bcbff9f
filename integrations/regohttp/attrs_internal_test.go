package regohttp

import "testing"

// methodIndex agrees with cachedMethods.
func TestMethodIndex(t *testing.T) {
	for i, m := range cachedMethods {
		if got := methodIndex(m); got != i {
			t.Errorf("methodIndex(%q) = %d, want %d", m, got, i)
		}
	}
	for _, m := range []string{"", "get", "TRACE", "CONNECT", "PROPFIND"} {
		if got := methodIndex(m); got != -1 {
			t.Errorf("methodIndex(%q) = %d, want -1", m, got)
		}
	}
}

package suggest

import "testing"

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		v    string
		from []string
		want string
	}{
		{"decorelated", []string{"none", "full", "equal", "decorrelated"}, "decorrelated"},
		{"max_atempts", []string{"max_attempts", "initial_backoff", "max_backoff"}, "max_attempts"},
		{"p955", []string{"fixed", "p50", "p90", "p95", "p99"}, "p95"},
		{"paymnets", []string{"payments", "hedges"}, "payments"},
		{"Full", []string{"none", "full"}, "full"},
		{"gaussian", []string{"none", "full", "equal", "decorrelated"}, ""},
		{"x", []string{"none", "full"}, ""},
	} {
		got, _ := Nearest(c.v, c.from)
		if got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestHint(t *testing.T) {
	if got := Hint("decorelated", []string{"full", "decorrelated"}); got != `; did you mean "decorrelated"?` {
		t.Fatal(got)
	}
	if got := Hint("full", []string{"full"}); got != "" {
		t.Fatal(got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"p955", "p95", 1}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

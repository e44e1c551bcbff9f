package policy_test

import (
	"strings"
	"testing"

	"github.com/aponysus/rego/policy"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in   string
		want policy.PolicyKey
	}{
		{"user-service.GetUser", policy.PolicyKey{Namespace: "user-service", Name: "GetUser"}},
		{"a.b.c", policy.PolicyKey{Namespace: "a", Name: "b.c"}},
		{"  payments.Charge \n", policy.PolicyKey{Namespace: "payments", Name: "Charge"}},
		{"nodot", policy.PolicyKey{Name: "nodot"}},
		{".leading", policy.PolicyKey{Namespace: "", Name: "leading"}},
		{"trailing.", policy.PolicyKey{Namespace: "trailing", Name: ""}},
		{"", policy.PolicyKey{}},
	}
	for _, tt := range tests {
		if got := policy.ParseKey(tt.in); got != tt.want {
			t.Errorf("ParseKey(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestKeyString(t *testing.T) {
	if s := (policy.PolicyKey{Namespace: "db", Name: "Users.Query"}).String(); s != "db.Users.Query" {
		t.Fatal(s)
	}
	if s := (policy.PolicyKey{Name: "solo"}).String(); s != "solo" {
		t.Fatal(s)
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"a.b", "a.b.c", "", ".", " x.y ", "no-dot", "\t.\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := policy.ParseKey(s)
		trimmed := strings.TrimSpace(s)
		if strings.Contains(k.Namespace, ".") {
			t.Fatalf("namespace %q holds a dot", k.Namespace)
		}
		if got := k.String(); got != trimmed && !(k.Namespace == "" && strings.HasPrefix(trimmed, ".")) {
			t.Fatalf("String() = %q, want %q", got, trimmed)
		}
		// Parsing the string form again is stable.
		if again := policy.ParseKey(k.String()); k.Namespace != "" && again != k {
			t.Fatalf("round trip %#v -> %q -> %#v", k, k.String(), again)
		}
	})
}

package observe_test

import (
	"testing"

	"github.com/aponysus/rego/observe"
)

// The event kinds are wire names (logs, metrics, event streams), spelled
// as the README and docs/circuit.md give them.
func TestEventKindNames(t *testing.T) {
	for kind, want := range map[observe.EventKind]string{
		observe.EventBreakerState:       "breaker_state",
		observe.EventPolicyReload:       "policy_reload",
		observe.EventPolicyReloadFailed: "policy_reload_failed",
		observe.EventLatePanic:          "late_panic",
	} {
		if string(kind) != want {
			t.Errorf("event kind %q, documented as %q", kind, want)
		}
	}
}

package regohttp

import (
	"net/http"

	"github.com/aponysus/rego/policy"
)

// DefaultKey is the policy key of every request of a Transport whose
// Options set neither Key nor KeyFunc: one key, so one policy and one set
// of budgets and latency statistics, for all the requests of that
// transport. Give each transport (each dependency) a key of its own.
var DefaultKey = policy.PolicyKey{Namespace: "http", Name: "request"}

// HostKey is a ready Options.KeyFunc that keys requests by host:
// "http.<hostname>" (the port left out). Use it only when the set of
// hosts is small and known, such as the few services a client calls;
// never for a client that follows user-supplied URLs, whose hosts are
// unbounded.
func HostKey(req *http.Request) policy.PolicyKey {
	return policy.PolicyKey{Namespace: "http", Name: req.URL.Hostname()}
}

// Package regoyaml reads rego policy documents written in YAML.
//
// The YAML is converted to the JSON form and decoded by
// policy.DecodeDocument, so a YAML document is validated, normalised and
// reported on exactly as its JSON twin is: same defaults, same clamping
// warnings, same error paths (`policies["payments.Charge"].retry.jitter`).
//
//	version: "2024-06-01.1"
//	default:
//	  retry: {max_attempts: 2}
//	policies:
//	  payments.Charge:
//	    retry:
//	      max_attempts: 5
//	      initial_backoff: 50ms
//	      jitter: decorrelated
//
// DecodeDocument has the signature of controlplane.DecodeFunc, so it plugs
// into file and remote providers and the document handler:
//
//	fp := controlplane.NewFileProvider(controlplane.FileOptions{
//		Path:   "/etc/rego/policies.yaml",
//		Decode: regoyaml.DecodeDocument,
//	})
//
// It lives in a module of its own so that the core rego module needs no
// YAML library.
package regoyaml

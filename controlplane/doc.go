// Package controlplane is where policies come from.
//
// A PolicyProvider resolves the EffectivePolicy for a key. StaticProvider
// serves policies from code. Providers normalise each policy once, when it
// is loaded, never once per call, and the executor's hot path reads
// immutable snapshots without locks.
//
// # Sources and the provider
//
// Documents that change at run time come through one seam. A Source only
// reads documents: Fetch returns the current one (as bytes, with a
// revision), and a Source that is also a Watcher pushes each new one to a
// Sink. A SourceProvider does everything else, the same way for every
// source: it decodes and normalises each document once, swaps it in
// atomically for lock-free, allocation-free lookups, keeps the
// last-known-good document when a load fails (lookups then return it with
// a *StaleError), writes and reads the disk cache (SourceOptions.CacheFile),
// counts loads and failures (Stats), reports them (LastError, OnError, and
// observe.EventPolicyReload and EventPolicyReloadFailed events to
// SourceOptions.Observer), polls, and bounds how long a lookup waits for
// the first document (SourceOptions.ColdStartWait, DefaultColdStartWait by
// default). grpc-go splits name resolution the same way: resolvers watch,
// the channel keeps the last good configuration.
//
// FileProvider (a file, polled) and RemoteProvider (an HTTP URL, polled
// with ETags; NewHandler serves one) are SourceProviders with a built-in
// source; integrations/etcd is a Watcher on an etcd key. A source of your
// own needs only the exported Source (and Watcher) interfaces:
//
//	type mySource struct{ ... }
//
//	func (s *mySource) Name() string { return "consul:rego/payments" }
//
//	func (s *mySource) Fetch(ctx context.Context, known string) (controlplane.Update, error) {
//		body, rev, err := s.read(ctx)
//		if err != nil {
//			return controlplane.Update{}, err
//		}
//		return controlplane.Update{Body: body, Revision: rev}, nil
//	}
//
//	p := controlplane.NewSourceProvider(&mySource{...}, controlplane.SourceOptions{
//		CacheFile: "/var/cache/rego/payments.json",
//	})
//	defer p.Close()
//
// A provider's Close is not a failure: a fetch it cancels leaves the
// provider as healthy as it was. Use OpenFileProvider, not
// NewFileProvider, when a program must not start without its policies.
package controlplane

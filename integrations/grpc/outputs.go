package regogrpc

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// callerOutputs are where the caller asked gRPC to put a call's header,
// trailer and peer (grpc.Header, grpc.Trailer, grpc.Peer). Attempts must
// not write there themselves: concurrent attempts would race, and the
// caller wants the values of the attempt whose result it gets. The
// interceptors fill them from that attempt.
type callerOutputs struct {
	headerAddr  *metadata.MD
	trailerAddr *metadata.MD
	peerAddr    *peer.Peer
}

// split takes the output options out of opts, remembering where they
// point, and returns the rest. opts is returned as is (no copy) when it
// holds none.
func (o *callerOutputs) split(opts []grpc.CallOption) []grpc.CallOption {
	for i, opt := range opts {
		switch opt.(type) {
		case grpc.HeaderCallOption, grpc.TrailerCallOption, grpc.PeerCallOption:
		default:
			continue
		}
		kept := make([]grpc.CallOption, i, len(opts))
		copy(kept, opts[:i])
		for _, opt := range opts[i:] {
			switch opt := opt.(type) {
			case grpc.HeaderCallOption:
				o.headerAddr = opt.HeaderAddr
			case grpc.TrailerCallOption:
				o.trailerAddr = opt.TrailerAddr
			case grpc.PeerCallOption:
				o.peerAddr = opt.PeerAddr
			default:
				kept = append(kept, opt)
			}
		}
		return kept
	}
	return opts
}

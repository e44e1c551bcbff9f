package regogrpc

import (
	"sync/atomic"
	"testing"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
)

// While one attempt decodes into the caller's reply, another gets a reply
// of its own, and a delivery from it waits until the first releases the
// caller's reply before copying into it.
func TestReplyHandoff(t *testing.T) {
	caller := &testgrpc.SimpleResponse{}
	u := &unaryCall{reply: caller}
	r1, owner1, err := u.claimReply()
	if err != nil || !owner1 || r1 != any(caller) {
		t.Fatalf("first claim: %v %v %v", r1, owner1, err)
	}
	r2, owner2, err := u.claimReply()
	if err != nil || owner2 || r2 == any(caller) {
		t.Fatalf("second claim: %v %v %v", r2, owner2, err)
	}
	r2.(*testgrpc.SimpleResponse).Username = "hedge"

	var released atomic.Bool
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		u.closeReply()
		u.deliver(&unaryAttempt{call: u, reply: r2}, true)
		if !released.Load() {
			t.Error("deliver copied into the reply while an attempt still used it")
		}
	}()
	// The first attempt is still writing the caller's reply.
	caller.Username = "primary"
	released.Store(true)
	u.releaseReply()
	<-delivered
	if caller.GetUsername() != "hedge" {
		t.Fatalf("caller's reply %v, want the delivered attempt's", caller)
	}
	// Closed: an attempt still starting as the call returns gets a reply
	// of its own, never the caller's.
	if r, owner, _ := u.claimReply(); owner || r == any(caller) {
		t.Fatal("an attempt claimed the reply after the call closed it")
	}
	u.closeReply() // again: returns at once
	if !proto.Equal(caller, &testgrpc.SimpleResponse{Username: "hedge"}) {
		t.Fatalf("reply changed: %v", caller)
	}
}

// A delivery with no attempt using the reply copies at once.
func TestReplyDeliverWhenFree(t *testing.T) {
	caller := &testgrpc.SimpleResponse{Username: "old"}
	u := &unaryCall{reply: caller}
	own := &testgrpc.SimpleResponse{Username: "new"}
	u.closeReply()
	u.deliver(&unaryAttempt{call: u, reply: own}, true)
	if caller.GetUsername() != "new" {
		t.Fatalf("reply %v", caller)
	}
}

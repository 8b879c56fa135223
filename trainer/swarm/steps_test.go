package swarm

import (
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Every step handed to OnTap is whole: the tap of its first update and the signed receipts of
// all its microbatches' inputs, each microbatch in exactly one step. After the first stage the
// receipts are of the activations the stage before sent (the designated one with its payload);
// on stage 0 of the gradients stage 1 sent back, the designated one for the tapped draw; the
// middle stage also shows the gradient stage 2 sent back for each.
func TestStepsCarryEveryInput(t *testing.T) {
	const steps, m = 3, 3
	sw, hosts := newSwarm(t, []int{1, 1, 1})
	var mu sync.Mutex
	got := map[int][]Step{}
	for s := range hosts {
		sw.start(hosts[s][0], s, steps, m, func(c *Config) {
			c.OnTap = func(st Step) {
				mu.Lock()
				got[s] = append(got[s], st)
				mu.Unlock()
			}
		})
	}
	sw.wait(2 * time.Minute)
	mu.Lock()
	defer mu.Unlock()
	for s := range hosts {
		if len(got[s]) != steps {
			t.Fatalf("stage %d: %d steps handed over, want %d", s, len(got[s]), steps)
		}
		// Stage 0's inputs come back from stage 1; a later stage's from the stage before.
		from, dir := hosts[1][0].ID(), verifytypes.Backward
		if s > 0 {
			from, dir = hosts[s-1][0].ID(), verifytypes.Forward
		}
		seen := map[uint64]bool{}
		for k, st := range got[s] {
			if st.Step != uint64(k) || st.Tap == nil || len(st.Others) != m-1 {
				t.Fatalf("stage %d step %d: number %d, tap %t, %d others; want %d, a tap, %d", s, k, st.Step, st.Tap != nil, len(st.Others), k, m-1)
			}
			if s > 0 && len(st.Input.Payload) == 0 {
				t.Errorf("stage %d step %d: the designated input comes without its payload", s, k)
			}
			all := append([]Taken{{Microbatch: st.Microbatch, Input: st.Input, Grad: st.Grad}}, st.Others...)
			for _, tk := range all {
				if seen[tk.Microbatch] {
					t.Errorf("stage %d: microbatch %d in two steps", s, tk.Microbatch)
				}
				seen[tk.Microbatch] = true
				checkInputReceipt(t, tk.Microbatch, tk.Input, from, hosts[s][0].ID(), dir, uint32(s))
				// The middle stage's updates each took a gradient back from the stage after.
				switch {
				case s == 1:
					checkInputReceipt(t, tk.Microbatch, tk.Grad, hosts[2][0].ID(), hosts[1][0].ID(), verifytypes.Backward, 1)
				case tk.Grad != nil:
					t.Errorf("stage %d microbatch %d: a gradient receipt, which only a middle stage shows", s, tk.Microbatch)
				}
			}
		}
		if len(seen) != steps*m {
			t.Errorf("stage %d: %d microbatches in its steps, want %d", s, len(seen), steps*m)
		}
	}
}

func checkInputReceipt(t *testing.T, mb uint64, in *Input, from, to peer.ID, dir verifytypes.Direction, stage uint32) {
	t.Helper()
	if in == nil {
		t.Fatalf("microbatch %d: no %v receipt", mb, dir)
	}
	r := in.Receipt
	if r.Sender != from || r.Receiver != to || r.Direction != dir || r.ToStage != stage || r.Microbatch != mb {
		t.Errorf("microbatch %d: receipt %+v; want %v from %s to %s, stage %d", mb, r, dir, from, to, stage)
	}
	if err := verifytypes.VerifyReceipt(r, in.Sig); err != nil {
		t.Errorf("microbatch %d: %v", mb, err)
	}
}

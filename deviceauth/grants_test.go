package deviceauth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// nodes are n Grants on one shared storage folder: the nodes of a cluster.
func nodes(t *testing.T, n int) ([]*Grants, *clock) {
	c := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	root := t.TempDir()
	var out []*Grants
	for range n {
		out = append(out, New(caddystore.New(&certmagic.FileStorage{Path: filepath.Join(root, "shared")}, "mfa"), c.now))
	}
	return out, c
}

var alice = session.Claims{User: "alice", Method: "webauthn", Serial: "caddy-mfa:alice:key"}

func start(t *testing.T, g *Grants) *Started {
	t.Helper()
	s, err := g.Start(context.Background(), Request{ClientName: "laptop", Address: "192.0.2.7", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if s.Interval != Interval || len(s.DeviceCode) != 51 || len(s.UserCode) != UserCodeLength {
		t.Fatalf("started: interval %v, code lengths %d %d", s.Interval, len(s.DeviceCode), len(s.UserCode))
	}
	return s
}

func expect(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// TestPollingPaceAndSlowDown: pending at the interval, slow_down (and 5 s more for every later
// poll) when faster, a second of grace for network delays.
func TestPollingPaceAndSlowDown(t *testing.T) {
	ns, c := nodes(t, 2)
	ctx := context.Background()
	s := start(t, ns[0])
	_, err := ns[1].Poll(ctx, s.DeviceCode)
	expect(t, "first poll", err, ErrPending)
	c.advance(4100 * time.Millisecond) // within the grace
	_, err = ns[0].Poll(ctx, s.DeviceCode)
	expect(t, "poll 4.1 s later", err, ErrPending)
	c.advance(2 * time.Second)
	_, err = ns[1].Poll(ctx, s.DeviceCode)
	expect(t, "poll 2 s later", err, ErrSlowDown)
	c.advance(5 * time.Second) // the interval is 10 s now
	_, err = ns[0].Poll(ctx, s.DeviceCode)
	expect(t, "poll 5 s after a slow_down", err, ErrSlowDown)
	c.advance(15 * time.Second)
	_, err = ns[0].Poll(ctx, s.DeviceCode)
	expect(t, "poll at the grown interval", err, ErrPending)
	g, err := ns[1].Lookup(ctx, FormatUserCode(s.UserCode))
	if err != nil || g.Interval != Interval+2*SlowDownStep || g.State != Pending || g.ClientName != "laptop" || g.Address != "192.0.2.7" {
		t.Fatalf("lookup: %+v %v", g, err)
	}
}

// TestApprovedOnceThenSpent: an approved grant is handed out once, with the approver, then
// its device code is refused as used; a second decision is refused.
func TestApprovedOnceThenSpent(t *testing.T) {
	ns, c := nodes(t, 2)
	ctx := context.Background()
	s := start(t, ns[0])
	if _, err := ns[1].Decide(ctx, "  "+s.UserCode[:4]+" "+s.UserCode[4:], true, alice); err != nil {
		t.Fatal(err)
	}
	_, err := ns[0].Decide(ctx, s.UserCode, false, alice)
	expect(t, "deny after approval", err, ErrDecided)
	g, err := ns[0].Poll(ctx, s.DeviceCode)
	if err != nil || g.State != Redeemed || g.Approver.User != "alice" || g.Duration != time.Hour {
		t.Fatalf("redeem: %+v %v", g, err)
	}
	c.advance(time.Minute)
	_, err = ns[1].Poll(ctx, s.DeviceCode)
	expect(t, "second redemption", err, ErrUsed)
	_, err = ns[1].Decide(ctx, s.UserCode, true, alice)
	expect(t, "approval after redemption", err, ErrDecided)
}

func TestDeniedAndExpired(t *testing.T) {
	ns, c := nodes(t, 1)
	g, ctx := ns[0], context.Background()
	denied, approved, waiting := start(t, g), start(t, g), start(t, g)
	if _, err := g.Decide(ctx, denied.UserCode, false, alice); err != nil {
		t.Fatal(err)
	}
	_, err := g.Poll(ctx, denied.DeviceCode)
	expect(t, "denied", err, ErrDenied)
	if _, err := g.Decide(ctx, approved.UserCode, true, alice); err != nil {
		t.Fatal(err)
	}
	c.advance(Lifetime)
	for name, s := range map[string]*Started{"denied": denied, "approved": approved, "waiting": waiting} {
		_, err = g.Poll(ctx, s.DeviceCode)
		expect(t, name+" at its expiry", err, ErrExpired)
	}
	_, err = g.Decide(ctx, waiting.UserCode, true, alice)
	expect(t, "approval at expiry", err, ErrExpired)
	_, err = g.Lookup(ctx, waiting.UserCode)
	expect(t, "lookup at expiry", err, ErrExpired)
	if n, err := g.Sweep(ctx); n != 3 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	_, err = g.Lookup(ctx, waiting.UserCode)
	expect(t, "lookup after the sweep", err, ErrUnknown)
}

// TestUnknownCodes: codes no grant has, and a forged device code for a real user code.
func TestUnknownCodes(t *testing.T) {
	ns, _ := nodes(t, 1)
	g, ctx := ns[0], context.Background()
	s := start(t, g)
	forged, _ := newDeviceCode(s.UserCode)
	for _, dc := range []string{forged, "BCDFGHJK" + s.DeviceCode[8:], s.DeviceCode[:50], s.DeviceCode + "x", "not a code"} {
		if dc[:8] == s.UserCode && dc == s.DeviceCode {
			continue
		}
		_, err := g.Poll(ctx, dc)
		expect(t, "poll "+dc, err, ErrUnknown)
	}
	_, err := g.Poll(ctx, "")
	expect(t, "no device code", err, ErrMalformed)
	for _, uc := range []string{"BCDF-GHJK", "AAAA-AAAA", "", s.UserCode + "B"} {
		if uc == FormatUserCode(s.UserCode) {
			continue
		}
		_, err = g.Decide(ctx, uc, true, alice)
		expect(t, "decide "+uc, err, ErrUnknown)
		_, err = g.Lookup(ctx, uc)
		expect(t, "lookup "+uc, err, ErrUnknown)
	}
	_, err = g.Poll(ctx, s.DeviceCode) // the forged polls changed nothing
	expect(t, "the real device code", err, ErrPending)
}

// TestParallelRedemption: many polls at once on two nodes, one approved code: one token.
func TestParallelRedemption(t *testing.T) {
	ns, _ := nodes(t, 2)
	ctx := context.Background()
	s := start(t, ns[0])
	if _, err := ns[1].Decide(ctx, s.UserCode, true, alice); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	granted, used := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			g, err := ns[i%2].Poll(ctx, s.DeviceCode)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && g.Approver.User == "alice":
				granted++
			case errors.Is(err, ErrUsed):
				used++
			default:
				t.Errorf("poll: %v", err)
			}
		})
	}
	wg.Wait()
	if granted != 1 || used != 39 {
		t.Fatalf("%d granted, %d used; want 1 and 39", granted, used)
	}
}

// TestParallelDecisions: an approval and a denial at once: one of them decides.
func TestParallelDecisions(t *testing.T) {
	ns, _ := nodes(t, 2)
	ctx := context.Background()
	s := start(t, ns[0])
	var mu sync.Mutex
	decided := 0
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := ns[i%2].Decide(ctx, s.UserCode, i%2 == 0, alice)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				decided++
			} else if !errors.Is(err, ErrDecided) {
				t.Errorf("decide: %v", err)
			}
		})
	}
	wg.Wait()
	if decided != 1 {
		t.Fatalf("%d decisions took, want 1", decided)
	}
}

// TestNoDeviceCodeInStorage: the store holds the secret's hash only.
func TestNoDeviceCodeInStorage(t *testing.T) {
	ns, _ := nodes(t, 1)
	s := start(t, ns[0])
	raw, err := ns[0].store.Get(context.Background(), store.Key("deviceauth", s.UserCode))
	if err != nil {
		t.Fatal(err)
	}
	if _, secret, _ := parseDeviceCode(s.DeviceCode); len(raw) == 0 || strings.Contains(string(raw), secret) {
		t.Fatalf("the record holds the device code's secret: %s", raw)
	}
}

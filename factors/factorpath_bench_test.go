package factors

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// BenchmarkFactorPath is one TOTP sign-in as the gateway runs it (auth.Service's verifyTOTP
// and attempt), on each real backend: the user's devices read to name the method, the attempt
// reserved against the lockout, the code checked and its step spent, the attempt forgiven. Each
// iteration is timed on its own, so the latency percentiles (p50-ms, p99-ms) stand beside the
// mean, with the p99 of each step to show where a slow one spends its time. "redis-10k-keys"
// is the same with 10,000 other records in the Redis database, as other users' would be.
//
// The floor-* runs time the unit the path's steps are made of, the same way and next to them:
// one durable write to Caddy's file storage (a temporary file, fsync, rename; taking the
// storage's lock file costs about the same) and one Redis round trip. On a shared machine they
// say how much of the path's tail is the machine's own at that moment.
//
// The Redis runs need the redis-server of scripts/with-redis.sh and fail without it.
func BenchmarkFactorPath(b *testing.B) {
	ctx := context.Background()
	value := bytes.Repeat([]byte("x"), 600) // about a device record
	b.Run("file", func(b *testing.B) { benchFactorPath(b, newTestStore(b)) })
	b.Run("floor-file-write", func(b *testing.B) {
		st := newTestStore(b)
		benchLatency(b, func() error { return st.Put(ctx, "floor", value) })
	})
	b.Run("redis", func(b *testing.B) { benchFactorPath(b, benchRedis(b, 0)) })
	b.Run("floor-redis-get", func(b *testing.B) {
		st := benchRedis(b, 0)
		if err := st.Put(ctx, "floor", value); err != nil {
			b.Fatal(err)
		}
		benchLatency(b, func() error { _, err := st.Get(ctx, "floor"); return err })
	})
	b.Run("redis-10k-keys", func(b *testing.B) { benchFactorPath(b, benchRedis(b, 10_000)) })
}

func benchLatency(b *testing.B, op func() error) {
	var l latencies
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		l.since(start)
	}
	b.StopTimer()
	l.report(b)
}

// benchRedis is a fresh prefix on the test Redis holding `others` unrelated records (device index
// entries of other users), all removed when the benchmark ends: the database's key count is
// what a SCAN walks.
func benchRedis(b *testing.B, others int) store.Store {
	ctx := context.Background()
	st := storetest.Redis(b, benchPrefix())
	b.Cleanup(func() {
		keys, err := st.List(ctx, "")
		if err != nil {
			b.Error(err)
		}
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for i := range others {
		user := fmt.Sprintf("user%d", i)
		if err := st.Put(ctx, userIndexKey(user, VirtualSerial(user, "phone")), []byte{}); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// benchFactorPath signs alice in with a fresh code every iteration (the clock moves a step, as
// replays are refused), with the lockout policy the gateway defaults to.
func benchFactorPath(b *testing.B, st store.Store) {
	ctx := context.Background()
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	devices := NewDevices(st, sealer, c.now, Settings{Issuer: "test", MaxDevices: 3, Skew: 1, ResyncWindow: 10})
	lock := lockout.New(st, c.now, lockout.Policy{MaxFailures: 10, BaseDelay: 30 * time.Second, MaxDelay: time.Hour})
	seed := enrolForBench(b, devices, c, "alice")

	var total, list, reserve, verify, forgive latencies
	b.ReportAllocs()
	for b.Loop() {
		c.advance(30 * time.Second)
		code, _ := VirtualTOTP.Code(seed, VirtualTOTP.Step(c.t))
		start := time.Now()
		ds, err := devices.ForUser(ctx, "alice") // the gateway's one read of the devices
		if err != nil {
			b.Fatal(err)
		}
		t1 := list.since(start)
		a, err := lock.Reserve(ctx, "alice")
		if err != nil {
			b.Fatal(err)
		}
		t2 := reserve.since(t1)
		if _, err := devices.VerifyAmong(ctx, "alice", ds, "", code); err != nil {
			b.Fatal(err)
		}
		t3 := verify.since(t2)
		if err := a.Forgive(ctx); err != nil {
			b.Fatal(err)
		}
		forgive.since(t3)
		total.since(start)
	}
	b.StopTimer()
	total.report(b)
	for _, s := range []struct {
		name string
		l    *latencies
	}{{"list", &list}, {"reserve", &reserve}, {"verify", &verify}, {"forgive", &forgive}} {
		b.ReportMetric(s.l.quantile(0.99), s.name+"-p99-ms")
	}
}

func enrolForBench(b *testing.B, r *Devices, c *clock, user string) []byte {
	nv, err := r.CreateVirtual(context.Background(), user, "phone")
	if err != nil {
		b.Fatal(err)
	}
	prev, _ := VirtualTOTP.Code(nv.Seed, VirtualTOTP.Step(c.t)-1)
	code, _ := VirtualTOTP.Code(nv.Seed, VirtualTOTP.Step(c.t))
	if _, err := r.Enable(context.Background(), user, nv.Device.Serial, prev, code); err != nil {
		b.Fatal(err)
	}
	return nv.Seed
}

// latencies collects one duration per iteration.
type latencies []time.Duration

// since records the time from start to now and returns now, the start of the next step.
func (l *latencies) since(start time.Time) time.Time {
	now := time.Now()
	*l = append(*l, now.Sub(start))
	return now
}

// quantile is the nearest-rank q-quantile in milliseconds.
func (l latencies) quantile(q float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := min(len(s)-1, max(0, int(math.Ceil(q*float64(len(s))))-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// report adds the p50 and p99 of l to the benchmark's line.
func (l latencies) report(b *testing.B) {
	b.ReportMetric(l.quantile(0.50), "p50-ms")
	b.ReportMetric(l.quantile(0.99), "p99-ms")
}

// benchPrefix is a Redis key prefix of its own for each run.
func benchPrefix() string {
	run := make([]byte, 6)
	_, _ = rand.Read(run)
	return fmt.Sprintf("mfa-bench-%s", hex.EncodeToString(run))
}

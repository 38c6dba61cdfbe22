package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

var families = []store.SealedField{{Prefix: "devices/", Field: "sealed_seed"}, {Prefix: "recovery/", Field: "sealed_salt"}}

type record struct {
	Name   string `json:"name"`
	Gen    int    `json:"gen"`
	Sealed []byte `json:"sealed_seed,omitempty"`
	Future string `json:"future_field,omitempty"` // a field this version does not know
}

func sealer(t *testing.T, keys ...byte) *store.Sealer {
	t.Helper()
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, bytes.Repeat([]byte{k}, store.KeySize))
	}
	s, err := store.NewSealer(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileStore(t *testing.T) store.Store {
	return caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
}

func putDevice(t *testing.T, st store.Store, s *store.Sealer, name string, gen int) {
	t.Helper()
	k := store.Key("devices", name)
	raw, _ := json.Marshal(record{Name: name, Gen: gen, Sealed: s.Seal([]byte("seed-"+name), []byte(k)), Future: "kept"})
	if err := store.ReplaceRecord(context.Background(), st, k, raw); err != nil {
		t.Fatal(err)
	}
}

func readDevice(t *testing.T, st store.Store, s *store.Sealer, name string) (record, error) {
	t.Helper()
	k := store.Key("devices", name)
	rec, err := store.GetJSON[record](context.Background(), st, k)
	if err != nil {
		return record{}, err
	}
	seed, err := s.Open(rec.Sealed, []byte(k))
	if err == nil && string(seed) != "seed-"+name {
		err = fmt.Errorf("%s opened to %q", name, seed)
	}
	return *rec, err
}

func TestResealMovesEveryRecordToTheFirstKey(t *testing.T) {
	ctx := context.Background()
	st, old, rotating, onlyNew := fileStore(t), sealer(t, 1), sealer(t, 2, 1), sealer(t, 2)
	if err := store.CheckKey(ctx, st, old); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		putDevice(t, st, old, fmt.Sprint("d", i), 1)
	}
	putDevice(t, st, rotating, "already", 1)
	_ = st.Put(ctx, "devices/webauthn", []byte(`{"name":"webauthn"}`)) // no sealed value
	rep, err := store.Reseal(ctx, st, rotating, families)
	if err != nil || rep.Resealed != 10 || rep.Current != 1 || len(rep.Unopened) != 0 || !rep.KeyCheck {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	for i := range 10 {
		rec, err := readDevice(t, st, onlyNew, fmt.Sprint("d", i))
		if err != nil || rec.Future != "kept" || rec.Gen != 1 {
			t.Fatalf("after reseal: %+v, %v (every field must survive)", rec, err)
		}
	}
	if err := store.CheckKey(ctx, st, onlyNew); err != nil {
		t.Fatalf("the key check must open with the first key alone: %v", err)
	}
	if err := store.CheckKey(ctx, st, old); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("the old key alone must now be refused: %v", err)
	}
	rep, err = store.Reseal(ctx, st, rotating, families)
	if err != nil || rep.Resealed != 0 || rep.Current != 11 || !rep.KeyCheck {
		t.Fatalf("a second run must change nothing: %+v, %v", rep, err)
	}
}

// A record no key opens (altered, or sealed with a key the list lacks) is named and left alone,
// and the key check keeps its key, so the old key cannot be removed by mistake.
func TestResealLeavesTheKeyCheckWhileARecordDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	st, old, rotating := fileStore(t), sealer(t, 1), sealer(t, 2, 1)
	_ = store.CheckKey(ctx, st, old)
	putDevice(t, st, old, "good", 1)
	putDevice(t, st, sealer(t, 7), "lost", 1)
	_ = st.Put(ctx, "recovery/junk", []byte("{half a record"))
	rep, err := store.Reseal(ctx, st, rotating, families)
	if err != nil || rep.Resealed != 1 || len(rep.Unopened) != 1 || rep.Unopened[0] != "devices/lost" || rep.Unreadable != 1 || rep.KeyCheck {
		t.Fatalf("%+v, %v", rep, err)
	}
	if err := store.VerifyKey(ctx, st, old); err != nil {
		t.Fatalf("the key check must stay under the old key: %v", err)
	}
}

// Nodes keep writing while a reseal runs: no write and no deletion may be undone by it.
func TestResealLosesNoConcurrentWrite(t *testing.T) {
	ctx := context.Background()
	st, old, rotating := fileStore(t), sealer(t, 1), sealer(t, 2, 1)
	const n = 60
	for i := range n {
		putDevice(t, st, old, fmt.Sprint("d", i), 1)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := n - 1; i >= 0; i-- { // from the other end, so the two meet in the middle
			if i%3 == 0 {
				_ = store.RemoveRecord(ctx, st, store.Key("devices", fmt.Sprint("d", i)))
				continue
			}
			putDevice(t, st, rotating, fmt.Sprint("d", i), 2)
		}
	}()
	var rep store.ResealReport
	var err error
	go func() { defer wg.Done(); rep, err = store.Reseal(ctx, st, rotating, families) }()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rec, err := readDevice(t, st, sealer(t, 2), fmt.Sprint("d", i))
		switch {
		case i%3 == 0 && !errors.Is(err, store.ErrNotFound):
			t.Errorf("d%d was deleted during the reseal and came back: %+v, %v", i, rec, err)
		case i%3 != 0 && (err != nil || rec.Gen != 2):
			t.Errorf("d%d: a node's write was lost or left unreadable: %+v, %v", i, rec, err)
		}
	}
	t.Logf("reseal during writes: %+v", rep)
}

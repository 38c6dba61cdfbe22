package factors

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// softKey is a software security key: enough of CTAP2 to answer go-webauthn's ceremonies, so
// the tests can turn its counter back or replay its answers.
type softKey struct {
	t       *testing.T
	id      []byte
	priv    *ecdsa.PrivateKey
	counter uint32
}

func newSoftKey(t *testing.T) *softKey {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{t: t, id: id, priv: priv, counter: 1}
}

var b64u = base64.RawURLEncoding

func clientData(kind, challenge, origin string) []byte {
	raw, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return raw
}

func (k *softKey) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	return append(out, attested...)
}

// register answers a creation challenge ("none" attestation), as PublicKeyCredential.toJSON() would.
func (k *softKey) register(challenge string, rp RelyingParty) []byte {
	x, y := k.priv.PublicKey.X.FillBytes(make([]byte, 32)), k.priv.PublicKey.Y.FillBytes(make([]byte, 32))
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		k.t.Fatal(err)
	}
	attested := append(make([]byte, 16), byte(len(k.id)>>8), byte(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	ao, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(rp.ID, 0x01|0x04|0x40, attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(k.id), "rawId": b64u.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(clientData("webauthn.create", challenge, rp.Origin)),
			"attestationObject": b64u.EncodeToString(ao),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return body
}

// assert answers a request challenge with the key's current counter.
func (k *softKey) assert(challenge string, rp RelyingParty, handle []byte) []byte {
	ad := k.authData(rp.ID, 0x01|0x04, nil)
	cd := clientData("webauthn.get", challenge, rp.Origin)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(k.id), "rawId": b64u.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64u.EncodeToString(cd), "authenticatorData": b64u.EncodeToString(ad),
			"signature": b64u.EncodeToString(sig), "userHandle": b64u.EncodeToString(handle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return body
}

func challengeOf(t *testing.T, v any) string {
	raw, _ := json.Marshal(v)
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &opts); err != nil || opts.PublicKey.Challenge == "" {
		t.Fatalf("no challenge in %s", raw)
	}
	return opts.PublicKey.Challenge
}

// TestWebAuthnCeremonies runs registration and sign-in with a software key and checks every way
// an answer must be refused: replayed, for another challenge, from a clone, too late, from another
// origin, and past the device limit.
func TestWebAuthnCeremonies(t *testing.T) {
	ctx := context.Background()
	r, c, st := newRegistry(t)
	w, err := NewWebAuthn(r, "test", "preferred")
	if err != nil {
		t.Fatal(err)
	}
	rp := RelyingParty{ID: "localhost", Origin: "http://localhost:8080"}
	handle := []byte("0123456789abcdef0123456789abcdef")
	key := newSoftKey(t)

	dev := registerAlicesKey(t, w, st, key, rp, handle)
	signInKeepsTheCounter(t, w, key, rp, handle, dev.Serial)

	// A clone: the counter goes backwards.
	key.counter = 1
	a, _ := w.BeginLogin(ctx, "alice", handle, rp)
	if _, err := w.FinishLogin(ctx, "alice", handle, key.assert(challengeOf(t, a), rp, handle)); !errors.Is(err, ErrClonedKey) {
		t.Fatalf("a counter that went backwards: %v", err)
	}

	// Ceremonies time out.
	key.counter = 100
	a, _ = w.BeginLogin(ctx, "alice", handle, rp)
	c.advance(CeremonyTimeout + time.Second)
	if _, err := w.FinishLogin(ctx, "alice", handle, key.assert(challengeOf(t, a), rp, handle)); !errors.Is(err, ErrNoCeremony) {
		t.Fatalf("an expired ceremony: %v", err)
	}
	// Another origin's answer is refused.
	a, _ = w.BeginLogin(ctx, "alice", handle, rp)
	if _, err := w.FinishLogin(ctx, "alice", handle, key.assert(challengeOf(t, a), RelyingParty{ID: "localhost", Origin: "http://evil.localhost"}, handle)); !errors.Is(err, ErrKeyRefused) {
		t.Fatalf("an answer from another origin: %v", err)
	}
	if _, err := w.BeginLogin(ctx, "bob", handle, rp); !errors.Is(err, ErrNoSecurityKey) {
		t.Fatalf("a user without keys: %v", err)
	}
	keysCountTowardTheDeviceLimit(t, w, rp, handle)
}

// registerAlicesKey registers key as alice's "yubikey", checking the creation options and that
// the ceremony is single use and leaves no state behind.
func registerAlicesKey(t *testing.T, w *WebAuthn, st store.Store, key *softKey, rp RelyingParty, handle []byte) *Device {
	t.Helper()
	ctx := context.Background()
	creation, err := w.BeginRegistration(ctx, "alice", handle, "yubikey", rp)
	if err != nil {
		t.Fatal(err)
	}
	// The options are WebAuthn Level 3 JSON: {"publicKey": {...}} with a random user handle.
	raw, _ := json.Marshal(creation)
	var opts struct {
		PublicKey struct {
			User struct{ ID, Name string } `json:"user"`
			RP   struct{ ID string }       `json:"rp"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(raw, &opts)
	if opts.PublicKey.User.ID != b64u.EncodeToString(handle) || opts.PublicKey.RP.ID != "localhost" {
		t.Fatalf("creation options: %s", raw)
	}
	regBody := key.register(challengeOf(t, creation), rp)
	dev, err := w.FinishRegistration(ctx, "alice", handle, regBody)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Type != TypeWebAuthn || !dev.Enabled || dev.Serial != "caddy-mfa-key:alice:yubikey" {
		t.Fatalf("device: %+v", dev)
	}
	// A ceremony is single use: the same answer again finds nothing waiting.
	if _, err := w.FinishRegistration(ctx, "alice", handle, regBody); !errors.Is(err, ErrNoCeremony) {
		t.Fatalf("a replayed registration: %v", err)
	}
	if _, err := st.Get(ctx, ceremonyKey("alice", "register")); err == nil {
		t.Fatal("the ceremony state outlived its use")
	}
	return dev
}

// signInKeepsTheCounter signs alice in with key and checks that an assertion is single use and
// bound to its own challenge.
func signInKeepsTheCounter(t *testing.T, w *WebAuthn, key *softKey, rp RelyingParty, handle []byte, serial string) {
	t.Helper()
	ctx := context.Background()
	// Sign in; the counter is kept.
	login := func() []byte {
		a, err := w.BeginLogin(ctx, "alice", handle, rp)
		if err != nil {
			t.Fatal(err)
		}
		key.counter++
		return key.assert(challengeOf(t, a), rp, handle)
	}
	body := login()
	if d, err := w.FinishLogin(ctx, "alice", handle, body); err != nil || d.Serial != serial {
		t.Fatalf("sign-in: %v", err)
	}
	if _, err := w.FinishLogin(ctx, "alice", handle, body); !errors.Is(err, ErrNoCeremony) {
		t.Fatalf("a replayed assertion: %v", err)
	}
	// An answer to an old challenge, for a new ceremony, does not verify.
	if _, err := w.BeginLogin(ctx, "alice", handle, rp); err != nil {
		t.Fatal(err)
	}
	if _, err := w.FinishLogin(ctx, "alice", handle, body); !errors.Is(err, ErrKeyRefused) {
		t.Fatalf("an assertion for another challenge: %v", err)
	}
}

// keysCountTowardTheDeviceLimit registers two more keys for alice and checks that a fourth device
// is refused.
func keysCountTowardTheDeviceLimit(t *testing.T, w *WebAuthn, rp RelyingParty, handle []byte) {
	t.Helper()
	ctx := context.Background()
	// Keys count toward max_devices (3 in these tests).
	for _, name := range []string{"k2", "k3"} {
		k := newSoftKey(t)
		cr, err := w.BeginRegistration(ctx, "alice", handle, name, rp)
		if err == nil {
			_, err = w.FinishRegistration(ctx, "alice", handle, k.register(challengeOf(t, cr), rp))
		}
		if err != nil {
			t.Fatalf("key %s: %v", name, err)
		}
	}
	if _, err := w.BeginRegistration(ctx, "alice", handle, "k4", rp); !errors.Is(err, ErrDeviceLimit) {
		t.Fatalf("a fourth device: %v", err)
	}
}

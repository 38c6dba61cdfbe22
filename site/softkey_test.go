package site_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/gate"
)

// softKey is a software security key for the site's WebAuthn calls (as in factors' tests): it
// answers creation and request options the way PublicKeyCredential.toJSON() would.
type softKey struct {
	t       testing.TB
	id      []byte
	priv    *ecdsa.PrivateKey
	counter uint32
	rp      factors.RelyingParty
	// aaguid is the model the key names at registration (zeros: none); synced marks a passkey
	// that may be backed up (the BE flag).
	aaguid []byte
	synced bool
}

func (e *env) newSoftKey() *softKey {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{t: e.T, id: id, priv: priv, counter: 1, rp: factors.RelyingParty{ID: "localhost", Origin: e.Server.URL}}
}

// withWebAuthn turns security keys on, for the relying party localhost (an RP ID is never an
// IP address) at the test server's origin.
func withWebAuthn(_ *gate.Options, c *auth.Config, _ *auth.Deps) {
	c.WebAuthn.Site = auth.WebAuthnSite{ID: "localhost"}
}

var b64u = base64.RawURLEncoding

func keyClientData(kind, challenge, origin string) []byte {
	raw, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return raw
}

func (k *softKey) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(k.rp.ID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	return append(out, attested...)
}

// register answers a creation challenge with "none" attestation.
func (k *softKey) register(challenge string) []byte {
	x, y := k.priv.PublicKey.X.FillBytes(make([]byte, 32)), k.priv.PublicKey.Y.FillBytes(make([]byte, 32))
	cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	model := k.aaguid
	if model == nil {
		model = make([]byte, 16)
	}
	attested := append(append([]byte{}, model...), byte(len(k.id)>>8), byte(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	ao, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(0x01|0x04|0x40|k.be(), attested)})
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(k.id), "rawId": b64u.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64u.EncodeToString(keyClientData("webauthn.create", challenge, k.rp.Origin)),
			"attestationObject": b64u.EncodeToString(ao),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return body
}

// assert answers a request challenge, the user present and verified; a key that is not the
// registered one signs wrongly.
func (k *softKey) assert(challenge string, handle []byte) []byte {
	return k.assertFlags(challenge, handle, 0x01|0x04)
}

// be is the backup-eligible flag of a synced passkey (0x08 BE, with 0x10 BS: backed up).
func (k *softKey) be() byte {
	if k.synced {
		return 0x08 | 0x10
	}
	return 0
}

// assertFlags answers with the authenticator data flags given (0x01 user present, 0x04 user
// verified).
func (k *softKey) assertFlags(challenge string, handle []byte, flags byte) []byte {
	k.counter++
	ad := k.authData(flags|k.be(), nil)
	cd := keyClientData("webauthn.get", challenge, k.rp.Origin)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, _ := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
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

// ceremony is the challenge and user handle of a begin answer.
func ceremonyOf(t testing.TB, r *response) (challenge string, handle []byte) {
	t.Helper()
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if r.StatusCode != http.StatusOK {
		t.Fatalf("begin: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(&opts)
	handle, _ = b64u.DecodeString(opts.PublicKey.User.ID)
	return opts.PublicKey.Challenge, handle
}

// registerKey runs a whole registration for the signed-in client and returns the finish answer.
func (c *client) registerKey(k *softKey, name string) *response {
	c.e.T.Helper()
	challenge, _ := ceremonyOf(c.e.T, c.Do("POST", "/.mfa/api/webauthn/register/begin", map[string]string{"name": name}))
	return c.Do("POST", "/.mfa/api/webauthn/register/finish", json.RawMessage(k.register(challenge)))
}

// userHandle is the random handle the gateway keeps for user.
func (e *env) userHandle(user string) []byte {
	u, err := e.Ops.Users.Get(e.T.Context(), user)
	if err != nil {
		e.T.Fatal(err)
	}
	return u.Handle
}

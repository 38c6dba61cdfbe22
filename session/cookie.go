package session

import (
	"crypto/hmac"
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	lru "github.com/hashicorp/golang-lru/v2"
)

// CookieOptions are the operator's choices for browser sessions.
type CookieOptions struct {
	Name     string        // cookie name; "__Host-" is put before it on HTTPS
	Idle     time.Duration // a session unused this long ends
	Absolute time.Duration // a session ends this long after sign-in, used or not
	// Secure reports whether the client reached the site over HTTPS, which may have ended at a
	// trusted proxy in front; nil: whether this connection is TLS.
	Secure func(*http.Request) bool
}

// Cookies keeps browser sessions in signed cookies (gorilla/sessions over securecookie). The
// cookie carries a session token (see Sign), so browsers and API clients share one set of
// claims, one expiry rule and one revocation check.
type Cookies struct {
	ring    *KeyRing
	store   *sessions.CookieStore
	opts    CookieOptions
	now     func() time.Time
	decoded *lru.Cache[string, Claims] // cookie value -> its verified claims: spares the decode
}

// decodedCacheSize bounds the memory of the decode cache whatever the traffic.
const decodedCacheSize = 8192

// NewCookies makes the browser session manager.
func NewCookies(ring *KeyRing, opts CookieOptions, now func() time.Time) *Cookies {
	st := sessions.NewCookieStore(ring.cookieKeyPairs()...)
	st.MaxAge(int(opts.Absolute / time.Second))
	cache, _ := lru.New[string, Claims](decodedCacheSize)
	if opts.Secure == nil {
		opts.Secure = tlsConnection
	}
	return &Cookies{ring: ring, store: st, opts: opts, now: now, decoded: cache}
}

// tlsConnection reports whether r came over TLS to this server.
func tlsConnection(r *http.Request) bool { return r.TLS != nil }

// Secure reports whether r's client speaks HTTPS to the site. The house asks here, so that the
// cookies' names and flags and the policy's req:Secure never disagree.
func (s *Cookies) Secure(r *http.Request) bool { return s.opts.Secure(r) }

// CookieName is the name the session cookie has on this request's scheme.
func (s *Cookies) CookieName(r *http.Request) string {
	if s.Secure(r) {
		return s.hostName()
	}
	return s.opts.Name
}

// hostName is the session cookie's name on HTTPS. __Host-: Secure, Path=/, no Domain, so no
// subdomain can plant it.
func (s *Cookies) hostName() string { return "__Host-" + s.opts.Name }

// CookieNames are the session cookie's names on plain HTTP and on HTTPS.
func (s *Cookies) CookieNames() (plain, https string) { return s.opts.Name, s.hostName() }

const tokenValue = "t"

// Read returns the verified claims of the request's session cookie. Revocation is the caller's
// next check.
func (s *Cookies) Read(r *http.Request) (Claims, bool) {
	value, found := cookieValue(r.Header["Cookie"], s.CookieName(r))
	if !found {
		return Claims{}, false
	}
	now := s.now()
	if claims, ok := s.decoded.Get(value); ok {
		return claims, now.Before(claims.Expires)
	}
	// Decode exactly the value that is cached below: gorilla's own reading (r.Cookie) may pick
	// another copy of the cookie from the header, and the cache would then vouch for this one.
	values := map[any]any{}
	if err := securecookie.DecodeMulti(s.CookieName(r), value, &values, s.store.Codecs...); err != nil {
		return Claims{}, false
	}
	tok, _ := values[tokenValue].(string)
	claims, err := s.ring.Verify(tok, now)
	if err != nil || !claims.Browser {
		return Claims{}, false
	}
	s.decoded.Add(value, claims)
	return claims, true
}

// cookieValue finds one cookie in Cookie headers without parsing the others, as r.Cookie does
// on every request. A value that is not in the decode cache is decoded with securecookie.
func cookieValue(headers []string, name string) (string, bool) {
	for _, line := range headers {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, name); ok && len(v) > 0 && v[0] == '=' {
				return strings.Trim(v[1:], `"`), true
			}
		}
	}
	return "", false
}

// Start begins a new session for user, signed in now.
func (s *Cookies) Start(user string) Claims {
	now := s.now().UTC()
	c := Claims{User: user, Issued: now, SignedIn: now}
	c.SessionID, c.SignInID = NewSessionID(), NewSessionID()
	c.Expires = s.expiry(&c)
	return c
}

// NewSessionID returns a random session id.
func NewSessionID() SessionID {
	var id SessionID
	_, _ = rand.Read(id[:])
	return id
}

func (s *Cookies) expiry(c *Claims) time.Time {
	return minTime(s.now().Add(s.opts.Idle), c.SignedIn.Add(s.opts.Absolute)).UTC()
}

// SignInEnds is when the last cookie of the claims' sign-in expires, however often it was
// refreshed: its absolute limit. A sign-out must hold until then.
func (s *Cookies) SignInEnds(c *Claims) time.Time {
	return c.SignedIn.Add(s.opts.Absolute).UTC()
}

// Write saves claims as the session cookie: HttpOnly, SameSite=Lax, Secure on HTTPS, living no
// longer than the session's absolute lifetime.
func (s *Cookies) Write(w http.ResponseWriter, r *http.Request, c Claims) error {
	c.Expires, c.Browser = s.expiry(&c), true
	tok, err := s.ring.Sign(&c)
	if err != nil {
		return err
	}
	sess := sessions.NewSession(s.store, s.CookieName(r))
	sess.Options = s.options(r, int(c.SignedIn.Add(s.opts.Absolute).Sub(s.now())/time.Second))
	sess.Values[tokenValue] = tok
	return sess.Save(r, w)
}

// Clear deletes the session cookie.
func (s *Cookies) Clear(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, sessions.NewCookie(s.CookieName(r), "", s.options(r, -1)))
}

func (s *Cookies) options(r *http.Request, maxAge int) *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.Secure(r), SameSite: http.SameSiteLaxMode}
}

// RefreshAfter is how stale the idle deadline may get before a request moves it: often enough
// that idle timeouts stay exact to the minute, rarely enough that few responses set a cookie.
const RefreshAfter = time.Minute

// NeedsRefresh reports whether the session's idle deadline should be moved forward now.
func (s *Cookies) NeedsRefresh(c *Claims) bool {
	return s.expiry(c).Sub(c.Expires) >= RefreshAfter
}

// CSRFToken is the token a page carries for state changes of this session: an HMAC of the
// session id, so it needs no storage and dies with the session.
func (s *Cookies) CSRFToken(c *Claims) string {
	return b64.EncodeToString(s.ring.signer().mac([]byte("csrf:"), c.SessionID[:]))
}

// CheckCSRF compares a presented token with the session's, under every ring key.
func (s *Cookies) CheckCSRF(c *Claims, token string) bool {
	got, err := b64.DecodeString(token)
	if err != nil {
		return false
	}
	ok := false
	for i := range s.ring.keys {
		if hmac.Equal(got, s.ring.keys[i].mac([]byte("csrf:"), c.SessionID[:])) {
			ok = true
		}
	}
	return ok
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

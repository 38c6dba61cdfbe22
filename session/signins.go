package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// SignIns keeps a record of each browser sign-in, so that a user can see where they are signed
// in and end a sign-in from elsewhere. The request path never reads them: a record is written at
// sign-in, when a factor is passed and when a cookie is refreshed (about once a minute of use).
type SignIns struct {
	store store.Store
	now   func() time.Time
}

// SignIn is one record: a sign-in and the browser it came from.
type SignIn struct {
	ID        SessionID `json:"id"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Method    string    `json:"method"` // the last factor passed; "" for none yet
	Ends      time.Time `json:"ends"`   // its cookies' absolute end: the record goes then
	// Issued is when its newest cookie was issued, so a user-wide revocation voids the record
	// exactly when it voids the cookie.
	Issued time.Time `json:"issued"`
}

// maxUserAgent bounds what a client's User-Agent may take in a record (of a sign-in or of a
// remembered browser).
const maxUserAgent = 256

// clipAgent is a client's User-Agent as a record keeps it: bounded, and valid UTF-8.
func clipAgent(ua string) string {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return strings.ToValidUTF8(ua, "?")
}

// MaxSignIns is how many sign-ins of one user are listed: a script that signs in over and over
// (a monitor, say) must not grow the list, or the store, without end. Past it the records of
// the least recently seen are forgotten; those sign-ins still hold until they end, and the
// operators' revoke-sessions ends them with the rest.
const MaxSignIns = 100

// NewSignIns keeps sign-in records in st.
func NewSignIns(st store.Store, now func() time.Time) *SignIns {
	return &SignIns{store: st, now: now}
}

func signInKey(user string, id SessionID) string {
	text, _ := id.MarshalText()
	return store.Key("signins", user, string(text))
}

// Seen records that the sign-in of claims was used now from sourceIP and userAgent, creating
// the record at first sight, and notes the factor the claims carry. A new record tidies the
// user's list: ended sign-ins go, and it keeps MaxSignIns at most.
func (s *SignIns) Seen(ctx context.Context, c *Claims, ends time.Time, sourceIP, userAgent string) error {
	if c.SignInID.IsZero() || c.User == "" {
		return nil
	}
	created := false
	now := s.now().UTC()
	err := s.store.Update(ctx, signInKey(c.User, c.SignInID), func(old []byte) ([]byte, error) {
		rec := SignIn{ID: c.SignInID, User: c.User, Created: now, Ends: ends.UTC()}
		created = old == nil
		if old != nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				return nil, fmt.Errorf("sign-in record: %w", err)
			}
		}
		rec.LastSeen, rec.SourceIP, rec.UserAgent = now, sourceIP, clipAgent(userAgent)
		rec.Issued = c.Issued.UTC()
		if c.Method != "" {
			rec.Method = c.Method
		}
		return json.Marshal(rec)
	})
	if err != nil || !created {
		return err
	}
	return s.keepAtMost(ctx, c.User, MaxSignIns)
}

// keepAtMost forgets the least recently seen of user's records past max (List has already
// removed the ended ones).
func (s *SignIns) keepAtMost(ctx context.Context, user string, max int) error {
	recs, err := s.List(ctx, user)
	if err != nil || len(recs) <= max {
		return err
	}
	for _, rec := range recs[max:] {
		if err := s.Forget(ctx, user, rec.ID); err != nil {
			return err
		}
	}
	return nil
}

// List is user's sign-ins that have not ended, newest first; ended records are removed.
func (s *SignIns) List(ctx context.Context, user string) ([]*SignIn, error) {
	keys, err := s.store.List(ctx, store.Key("signins", user)+"/")
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*SignIn, 0, len(keys))
	for _, k := range keys {
		raw, err := s.store.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rec := new(SignIn)
		if err := json.Unmarshal(raw, rec); err != nil || rec.User != user {
			continue // not a record of this user's (a temp file, or damaged): skipped, never shown
		}
		if !now.Before(rec.Ends) {
			_ = s.store.Delete(ctx, k)
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	return out, nil
}

// Forget removes the record of a sign-in.
func (s *SignIns) Forget(ctx context.Context, user string, id SessionID) error {
	return s.store.Delete(ctx, signInKey(user, id))
}

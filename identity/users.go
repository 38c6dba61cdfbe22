package identity

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/store"
)

var (
	// ErrNoSuchUser means no user has the name.
	ErrNoSuchUser = errors.New("no such user")
	// ErrUserExists means a user with the name exists already.
	ErrUserExists = errors.New("user already exists")
	// ErrBadCredentials is the one answer to an unknown user and to a wrong password.
	ErrBadCredentials = errors.New("the user name or password is incorrect")
	// ErrInvalidName means a user name breaks IAM's rules.
	ErrInvalidName = errors.New("invalid user name")
	// ErrLocalName is an earlier handler's identity that names a user who signs in here with a
	// password: the two are not known to be one person, so the earlier handler's user may not
	// take over the local user's groups and devices.
	ErrLocalName = errors.New("the name belongs to a user who signs in here with a password")
)

// userNamePattern is IAM's userNameType.
var userNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// ValidateName checks a user name against IAM's rules.
func ValidateName(name string) error {
	if !userNamePattern.MatchString(name) {
		return fmt.Errorf("%w %q: must be 1-64 characters of letters, digits and +=,.@_-", ErrInvalidName, name)
	}
	return nil
}

// User is one person (or program) who signs in through the gateway.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash,omitempty"` // bcrypt; empty: no password sign-in
	Groups       []string  `json:"groups,omitempty"`
	Created      time.Time `json:"created"`
	// Handle is the random WebAuthn user handle: never the name, so authenticators learn nothing.
	Handle []byte `json:"handle"`
}

// InGroup reports whether the user belongs to group.
func (u *User) InGroup(group string) bool { return slices.Contains(u.Groups, group) }

// Directory is the set of users, kept in a store.
type Directory struct {
	store store.Store
	now   func() time.Time

	dummyOnce sync.Once
	dummyCost int
	dummyHash []byte
}

// NewDirectory makes a Directory. dummyCost is the bcrypt cost that checks for unknown users
// spend, so they take as long as real ones (use the cost of the real hashes).
func NewDirectory(st store.Store, now func() time.Time, dummyCost int) *Directory {
	if dummyCost < bcrypt.MinCost {
		dummyCost = bcrypt.DefaultCost
	}
	return &Directory{store: st, now: now, dummyCost: dummyCost}
}

func userKey(name string) string { return store.Key("users", name) }

// Get returns the user called name, or ErrNoSuchUser.
func (d *Directory) Get(ctx context.Context, name string) (*User, error) {
	u, err := store.GetJSON[User](ctx, d.store, userKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchUser, name)
	}
	return u, err
}

// Create adds a user; the password hash may be empty for users who never sign in with one.
func (d *Directory) Create(ctx context.Context, name, passwordHash string, groups []string) (*User, error) {
	u, err := d.newUser(name, passwordHash, groups)
	if err != nil {
		return nil, err
	}
	err = store.UpdateJSON(ctx, d.store, userKey(name), func(old *User) (*User, error) {
		if old != nil {
			return nil, fmt.Errorf("%w: %s", ErrUserExists, name)
		}
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.indexHandle(ctx, u); err != nil {
		return nil, err
	}
	return u, changed(ctx, d.store)
}

// Ensure makes the user exist with exactly this password hash and these groups (the bootstrap
// users of the Caddyfile), keeping everything else the user has.
func (d *Directory) Ensure(ctx context.Context, name, passwordHash string, groups []string) error {
	fresh, err := d.newUser(name, passwordHash, groups)
	if err != nil {
		return err
	}
	kept := fresh
	err = store.UpdateJSON(ctx, d.store, userKey(name), func(old *User) (*User, error) {
		if old == nil {
			kept = fresh
			return fresh, nil
		}
		old.PasswordHash, old.Groups = fresh.PasswordHash, fresh.Groups
		kept = old
		return old, nil
	})
	if err != nil {
		return err
	}
	if err := d.indexHandle(ctx, kept); err != nil {
		return err
	}
	return changed(ctx, d.store)
}

func (d *Directory) newUser(name, passwordHash string, groups []string) (*User, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if passwordHash != "" {
		if _, err := bcrypt.Cost([]byte(passwordHash)); err != nil {
			return nil, fmt.Errorf("user %s: password hash is not a bcrypt hash: %w", name, err)
		}
	}
	handle := make([]byte, 32)
	if _, err := rand.Read(handle); err != nil {
		return nil, err
	}
	return &User{Name: name, PasswordHash: passwordHash, Groups: groups, Created: d.now().UTC(), Handle: handle}, nil
}

// LookupExternal returns the user an earlier handler signed in, without creating a record: a
// name the gateway has never seen is a user with no groups and no record, so merely presenting
// a name (on a page, whoami, the gate) costs no storage. The record comes with enrolment.
func (d *Directory) LookupExternal(ctx context.Context, name string) (*User, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	u, err := d.Get(ctx, name)
	if errors.Is(err, ErrNoSuchUser) {
		return &User{Name: name}, nil
	}
	if err == nil && u.PasswordHash != "" {
		return nil, fmt.Errorf("%w: %s", ErrLocalName, name)
	}
	return u, err
}

// EnsureExternal returns the user an earlier handler signed in, creating a record (no password)
// the first time the gateway sees the name.
func (d *Directory) EnsureExternal(ctx context.Context, name string) (*User, error) {
	u, err := d.Get(ctx, name)
	if errors.Is(err, ErrNoSuchUser) {
		u, err = d.Create(ctx, name, "", nil)
		if errors.Is(err, ErrUserExists) { // another request created it first
			u, err = d.Get(ctx, name)
		}
	}
	if err == nil && u.PasswordHash != "" {
		return nil, fmt.Errorf("%w: %s", ErrLocalName, name)
	}
	return u, err
}

// Delete removes a user record.
func (d *Directory) Delete(ctx context.Context, name string) error {
	if _, err := d.Get(ctx, name); err != nil {
		return err
	}
	if err := d.store.Delete(ctx, userKey(name)); err != nil {
		return err
	}
	return changed(ctx, d.store)
}

// List returns every user.
func (d *Directory) List(ctx context.Context) ([]*User, error) {
	keys, err := d.store.List(ctx, "users/")
	if err != nil {
		return nil, err
	}
	users := make([]*User, 0, len(keys))
	for _, k := range keys {
		u, err := d.Get(ctx, store.LastPart(k))
		if errors.Is(err, ErrNoSuchUser) || errors.Is(err, store.ErrUnreadable) {
			continue // deleted while listing, or a crashed writer's leftover
		}
		if err != nil {
			return nil, err
		}
		if u.Name == store.LastPart(k) {
			users = append(users, u)
		}
	}
	slices.SortFunc(users, func(a, b *User) int { return cmp.Compare(a.Name, b.Name) })
	return users, nil
}

// Authenticate checks a password. An unknown user, a user without a password and a wrong
// password all cost one bcrypt comparison and all return ErrBadCredentials.
func (d *Directory) Authenticate(ctx context.Context, name, password string) (*User, error) {
	u, err := d.Get(ctx, name)
	if err != nil && !errors.Is(err, ErrNoSuchUser) {
		return nil, err // the store failed: say so rather than deny silently
	}
	hash := d.dummy()
	if u != nil && u.PasswordHash != "" {
		hash = []byte(u.PasswordHash)
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if u == nil || u.PasswordHash == "" || !match {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// dummy is a hash of a random password that nobody knows, at the cost of the real hashes.
func (d *Directory) dummy() []byte {
	d.dummyOnce.Do(func() {
		pw := make([]byte, 32)
		_, _ = rand.Read(pw)
		d.dummyHash, _ = bcrypt.GenerateFromPassword(pw, d.dummyCost)
	})
	return d.dummyHash
}

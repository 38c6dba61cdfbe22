package policy

// Remedy says what would turn a denied request into an allowed one.
type Remedy uint8

const (
	RemedyNone      Remedy = iota // allowed already
	RemedyLogin                   // sign in (and then, perhaps, pass a factor)
	RemedyMFA                     // pass a fresh factor of one of Challenge.Methods
	RemedyForbidden               // nothing the caller can do
)

func (r Remedy) String() string { return [...]string{"none", "login", "mfa", "forbidden"}[r] }

// Challenge is the remedy for a denied request, with what a fresh factor must be.
type Challenge struct {
	Remedy  Remedy
	Methods []string // for RemedyMFA: the methods a fresh factor may use
	MaxAge  int64    // the tightest mfa:Age limit of the policy in seconds; -1 when none
}

// Remedy works out the challenge for a request the set denied, by evaluating it again with a
// hypothetical factor of each method passed this instant. Anonymous callers are asked to sign
// in: who they are decides what they may do.
func (s *Set) Remedy(ctx *Context) Challenge {
	ch := Challenge{Remedy: RemedyForbidden, MaxAge: s.maxAge}
	if ctx.anonymous() {
		ch.Remedy = RemedyLogin
		return ch
	}
	for _, m := range Methods {
		if s.Evaluate(withFreshFactor(ctx, m)).Decision == Allowed {
			ch.Methods = append(ch.Methods, m)
		}
	}
	if len(ch.Methods) > 0 {
		ch.Remedy = RemedyMFA
	}
	return ch
}

// withFreshFactor is ctx as it would be right after passing a factor of method: an access-key
// caller would be holding an MFA session token by then. A security key is taken to be the
// strongest kind, one that verifies its user and is bound to its device; which model it is
// (mfa:Aaguid) is judged on the key that answers.
func withFreshFactor(ctx *Context, method string) *Context {
	h := *ctx
	h.MFAPresent, h.MFATime, h.MFAMethod = true, ctx.Time, method
	h.MFAUserVerified, h.MFABackupEligible, h.MFAAaguid = method == MethodWebAuthn, false, ""
	if h.AuthType == AuthAccessKey {
		h.AuthType = AuthToken
	}
	return &h
}

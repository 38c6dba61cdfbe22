package auth

// Metrics counts what the gateway does, for Prometheus (SPEC section 9). Labels are low
// cardinality: a method and an outcome, never a user.
type Metrics interface {
	// Verification counts one factor check: method is the factor kind tried (virtual, hardware,
	// webauthn, sms, recovery); outcome is one of the Outcome* constants.
	Verification(method, outcome string)
	// Decision counts one gate decision: allowed, challenged, denied, bad_credential or bad_request.
	Decision(outcome string)
	// Lockout counts a user locked out.
	Lockout()
	// TokenIssued counts a session token minted, by kind (TokenKind*).
	TokenIssued(kind string)
}

// The outcomes of a factor check, the one label set of caddy_mfa_verifications_total.
const (
	OutcomeSuccess   = "success"
	OutcomeInvalid   = "invalid"
	OutcomeReplayed  = "replayed"
	OutcomeThrottled = "throttled"
)

// Outcomes lists every outcome, for the metrics registry.
var Outcomes = []string{OutcomeSuccess, OutcomeInvalid, OutcomeReplayed, OutcomeThrottled}

type noMetrics struct{}

func (noMetrics) Verification(string, string) {}
func (noMetrics) Decision(string)             {}
func (noMetrics) Lockout()                    {}
func (noMetrics) TokenIssued(string)          {}

// Metrics is where the rooms count what they decide; never nil.
func (s *Service) Metrics() Metrics { return s.metrics }

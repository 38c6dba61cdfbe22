package gateway

// Metrics counts what the gateway does, for Prometheus (SPEC section 9). Labels are low
// cardinality: a method and an outcome, never a user.
type Metrics interface {
	// Verification counts one factor check: method virtual, hardware, recovery ...; outcome
	// passed, failed, replayed or throttled.
	Verification(method, outcome string)
	// Decision counts one gate decision: allowed, challenged, denied or bad_credential.
	Decision(outcome string)
	// Lockout counts a user locked out.
	Lockout()
	// TokenIssued counts a session token minted by GetSessionToken.
	TokenIssued()
}

type noMetrics struct{}

func (noMetrics) Verification(string, string) {}
func (noMetrics) Decision(string)             {}
func (noMetrics) Lockout()                    {}
func (noMetrics) TokenIssued()                {}

func (s *Services) metrics() Metrics {
	if s.Metrics == nil {
		return noMetrics{}
	}
	return s.Metrics
}

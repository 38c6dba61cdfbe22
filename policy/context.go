package policy

import (
	"net/netip"
	"strconv"
	"time"
)

// AuthType values of user:AuthType. These constants are the one spelling of each name: every
// package of the project uses them (policy imports nothing of the project, so all may import it).
const (
	AuthAnonymous = "anonymous"
	AuthSession   = "session"
	AuthAccessKey = "access_key"
	AuthToken     = "token"
	AuthExternal  = "external"
)

// AuthTypes lists every AuthType value.
var AuthTypes = []string{AuthAnonymous, AuthSession, AuthAccessKey, AuthToken, AuthExternal}

// Factor methods, as mfa:Method names them: a device's type (factors), a token's method
// (session), a metric's method label and a challenge's methods all use these.
const (
	MethodVirtual  = "virtual"
	MethodHardware = "hardware"
	MethodWebAuthn = "webauthn"
	MethodSMS      = "sms"
	MethodRecovery = "recovery"
	// MethodRemembered is a browser the user asked to remember after a real factor: a later
	// password sign-in from it carries this method instead of a code. It stands for a factor
	// passed before, so no challenge can ask for one (it is not in Methods).
	MethodRemembered = "remembered"
)

// Methods a factor can be passed with, in the order a challenge offers them.
var Methods = []string{MethodVirtual, MethodHardware, MethodWebAuthn, MethodSMS, MethodRecovery}

// MethodNames lists every value mfa:Method can have: the factors of Methods and a remembered
// browser. The Caddyfile's methods, the identity headers and the tokens range over it.
var MethodNames = append(Methods[:len(Methods):len(Methods)], MethodRemembered)

// Context is what a request brings to evaluation. Keys follow from it (see the key table):
// user:* keys are absent for anonymous requests; mfa:Present is absent for anonymous and
// access-key requests; mfa:Age and mfa:Method are absent until a factor is passed.
type Context struct {
	UserID   string
	Groups   []string
	AuthType string

	MFAPresent bool
	MFATime    time.Time // zero: no factor passed
	MFAMethod  string
	// The authenticator behind a webauthn factor (absent for every other method): whether it
	// verified the user (PIN, biometric), whether the credential may be synced (a passkey rather
	// than a device-bound key), and its model (AAGUID, as a UUID).
	MFAUserVerified   bool
	MFABackupEligible bool
	MFAAaguid         string

	// The role a role token was minted for (AssumeRole), and the name its caller gave the
	// session; both absent for every other credential.
	RoleName, RoleSessionName string

	Method   string // HTTP method
	Host     string // without port
	Path     string
	SourceIP netip.Addr
	Secure   bool
	Time     time.Time
}

// key names one condition key; the compiled policy refers to keys by number.
type key uint8

const (
	keyMFAPresent key = iota
	keyMFAAge
	keyMFAMethod
	keyMFAPhishingResistant
	keyUserID
	keyUserGroups
	keyUserAuthType
	keyReqMethod
	keyReqHost
	keyReqPath
	keyReqSourceIP
	keyReqSecure
	keyReqTime
	keyMFAUserVerified
	keyMFABackupEligible
	keyMFAAaguid
	keyRoleName
	keyRoleSessionName
)

type keyType uint8

const (
	typeString keyType = iota
	typeBool
	typeNumber
	typeIP
	typeDate
)

type keyInfo struct {
	name   string
	typ    keyType
	multi  bool
	noVars bool // may not stand in a ${...} variable
}

var keys = []keyInfo{
	keyMFAPresent:           {name: "mfa:Present", typ: typeBool},
	keyMFAAge:               {name: "mfa:Age", typ: typeNumber},
	keyMFAMethod:            {name: "mfa:Method", typ: typeString},
	keyMFAPhishingResistant: {name: "mfa:PhishingResistant", typ: typeBool},
	keyUserID:               {name: "user:Id", typ: typeString},
	keyUserGroups:           {name: "user:Groups", typ: typeString, multi: true, noVars: true},
	keyUserAuthType:         {name: "user:AuthType", typ: typeString},
	keyReqMethod:            {name: "req:Method", typ: typeString},
	keyReqHost:              {name: "req:Host", typ: typeString},
	keyReqPath:              {name: "req:Path", typ: typeString},
	keyReqSourceIP:          {name: "req:SourceIp", typ: typeIP},
	keyReqSecure:            {name: "req:Secure", typ: typeBool},
	keyReqTime:              {name: "req:Time", typ: typeDate},
	keyMFAUserVerified:      {name: "mfa:UserVerified", typ: typeBool},
	keyMFABackupEligible:    {name: "mfa:BackupEligible", typ: typeBool},
	keyMFAAaguid:            {name: "mfa:Aaguid", typ: typeString},
	keyRoleName:             {name: "role:Name", typ: typeString},
	keyRoleSessionName:      {name: "role:SessionName", typ: typeString},
}

func lookupKey(name string) (key, bool) {
	for i, k := range keys {
		if k.name == name {
			return key(i), true
		}
	}
	return 0, false
}

// KeyNames lists every condition key, for docs and error messages.
func KeyNames() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

func (c *Context) anonymous() bool { return c.AuthType == AuthAnonymous || c.AuthType == "" }

// present reports whether key k exists in this context.
func (c *Context) present(k key) bool {
	switch k {
	case keyMFAPresent:
		return !c.anonymous() && c.AuthType != AuthAccessKey
	case keyMFAAge, keyMFAMethod, keyMFAPhishingResistant:
		return !c.MFATime.IsZero()
	case keyMFAUserVerified, keyMFABackupEligible:
		return !c.MFATime.IsZero() && c.MFAMethod == MethodWebAuthn
	case keyMFAAaguid:
		return !c.MFATime.IsZero() && c.MFAMethod == MethodWebAuthn && c.MFAAaguid != ""
	case keyUserID:
		return !c.anonymous()
	case keyRoleName, keyRoleSessionName:
		return !c.anonymous() && c.RoleName != ""
	case keyUserGroups:
		return !c.anonymous() && len(c.Groups) > 0
	case keyReqSourceIP:
		return c.SourceIP.IsValid()
	}
	return true
}

// str is the string form of a single-valued key, as string operators and variables see it.
func (c *Context) str(k key) string {
	switch k {
	case keyMFAPresent:
		return strconv.FormatBool(c.MFAPresent)
	case keyMFAAge:
		return strconv.FormatInt(c.age(), 10)
	case keyMFAMethod:
		return c.MFAMethod
	case keyMFAPhishingResistant:
		return strconv.FormatBool(c.phishingResistant())
	case keyMFAUserVerified:
		return strconv.FormatBool(c.MFAUserVerified)
	case keyMFABackupEligible:
		return strconv.FormatBool(c.MFABackupEligible)
	case keyMFAAaguid:
		return c.MFAAaguid
	case keyUserID:
		return c.UserID
	case keyRoleName:
		return c.RoleName
	case keyRoleSessionName:
		return c.RoleSessionName
	case keyUserAuthType:
		if c.AuthType == "" {
			return AuthAnonymous
		}
		return c.AuthType
	case keyReqMethod:
		return c.Method
	case keyReqHost:
		return c.Host
	case keyReqPath:
		return c.Path
	case keyReqSourceIP:
		return c.SourceIP.String()
	case keyReqSecure:
		return strconv.FormatBool(c.Secure)
	case keyReqTime:
		return c.Time.UTC().Format(time.RFC3339)
	}
	return ""
}

func (c *Context) boolean(k key) bool {
	switch k {
	case keyMFAPresent:
		return c.MFAPresent
	case keyMFAPhishingResistant:
		return c.phishingResistant()
	case keyMFAUserVerified:
		return c.MFAUserVerified
	case keyMFABackupEligible:
		return c.MFABackupEligible
	case keyReqSecure:
		return c.Secure
	}
	return false
}

// age is mfa:Age: whole seconds since the factor was passed.
func (c *Context) age() int64 { return int64(c.Time.Sub(c.MFATime) / time.Second) }

func (c *Context) phishingResistant() bool { return c.MFAMethod == MethodWebAuthn }

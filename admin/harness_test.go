package admin_test

import (
	"testing"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// The house every test here runs in: see package housetest.
type (
	env       = housetest.Env
	response  = housetest.Response
	envOption = housetest.Option
)

const testPassword = housetest.Password

func newEnv(t testing.TB, opts ...envOption) *env { return housetest.New(t, opts...) }

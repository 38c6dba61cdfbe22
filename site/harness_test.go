package site_test

import (
	"testing"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// The house every test here runs in (see package housetest), with the site's own helpers on
// its env and clients.
type (
	env       struct{ *housetest.Env }
	response  = housetest.Response
	envOption = housetest.Option
)

// client is a housetest client that knows its env.
type client struct {
	*housetest.Client
	e *env
}

const testPassword = housetest.Password

func newEnv(t testing.TB, opts ...envOption) *env { return &env{housetest.New(t, opts...)} }

// Client is a new client of the env's server.
func (e *env) Client() *client { return &client{Client: e.Env.Client(), e: e} }

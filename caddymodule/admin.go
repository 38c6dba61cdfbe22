package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the operators' API (users, access keys, sessions, the policy simulator) under
// /mfa/ on Caddy's admin endpoint.
type adminAPI struct {
	ctx caddy.Context
}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.mfa",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Provision keeps the config's context: Caddy starts the admin endpoint before the apps, so the
// mfa app is looked up when a request comes.
func (a *adminAPI) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	return nil
}

// Routes returns the admin routes.
func (a *adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/mfa/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

func (a *adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	appModule, err := a.ctx.AppIfConfigured("mfa")
	if err != nil || appModule.(*App).admin == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("the mfa app is not running in this config")}
	}
	appModule.(*App).admin.ServeHTTP(w, r)
	return nil
}

// policiesFor finds the mfa handlers a request would pass through in the running config and
// returns their policies, for the simulator. It follows routes by their matchers, as Caddy
// does (a terminal route ends the search); route groups are not taken into account.
func (a *App) policiesFor(method, host, path string) ([]*policy.Set, error) {
	httpModule, err := a.ctx.AppIfConfigured("http")
	if err != nil {
		return nil, fmt.Errorf("no http app is configured: give the simulator its policies")
	}
	hostname, port, _ := strings.Cut(host, ":")
	names := make([]string, 0)
	servers := httpModule.(*caddyhttp.App).Servers
	for name := range servers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		srv := servers[name]
		if port != "" && !slices.ContainsFunc(srv.Listen, func(l string) bool { return strings.HasSuffix(l, ":"+port) }) {
			continue
		}
		req := httptest.NewRequest(method, "http://"+host+path, nil)
		req.Host = hostname
		req = caddyhttp.PrepareRequest(req, caddy.NewReplacer(), nil, srv)
		if sets, found := walkRoutes(srv.Routes, req); found {
			return sets, nil
		}
	}
	return nil, fmt.Errorf("no mfa handler is on the way of %s %s%s", method, host, path)
}

// walkRoutes collects the policies of the mfa handlers on the request's way through routes.
func walkRoutes(routes caddyhttp.RouteList, req *http.Request) (sets []*policy.Set, found bool) {
	for _, route := range routes {
		if len(route.MatcherSets) > 0 && !route.MatcherSets.AnyMatch(req) {
			continue
		}
		for _, h := range route.Handlers {
			switch h := h.(type) {
			case *Handler:
				sets, found = append(sets, h.policy), true
			case *caddyhttp.Subroute:
				sub, ok := walkRoutes(h.Routes, req)
				sets, found = append(sets, sub...), found || ok
			}
		}
		if route.Terminal {
			break
		}
	}
	return sets, found
}

// Interface guards
var (
	_ caddy.AdminRouter = (*adminAPI)(nil)
	_ caddy.Provisioner = (*adminAPI)(nil)
)

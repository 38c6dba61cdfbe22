package admin

import (
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/web"
)

type statementView struct {
	Policy  string `json:"policy"`
	Sid     string `json:"sid"`
	Effect  string `json:"effect"`
	Matches uint64 `json:"matches"`
}

// policyStats lists every statement of the running config's policies with the requests it
// decided since the config was loaded (GET /mfa/policy/stats): the dead ones show 0.
func (a *Admin) policyStats(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		Since      time.Time       `json:"since"`
		Statements []statementView `json:"statements"`
	}{Statements: []statementView{}}
	if a.Statements != nil {
		since, stats := a.Statements()
		out.Since = since.UTC()
		for _, st := range stats {
			out.Statements = append(out.Statements, statementView{Policy: st.Ref.Source, Sid: st.Ref.Sid, Effect: st.Effect, Matches: st.Decided})
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
}
